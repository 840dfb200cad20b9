#!/usr/bin/env bash
# T3S vs its controls (METHODS §4, Docs/Results-T3S.md) on the tiny testbed:
#   1. for each seed, a strong student: SFT on 3-digit additions in trace style 0
#      (explicit carries), saved as runs/t3s-exp/student-s<seed>;
#   2. each arm fine-tunes it on 200 traces of the same task in style 1 (carries
#      left implicit) — the style shift that makes the imitation shock:
#      sft (plain), t3s (anchors masked), anti (anchors only), random (a random
#      mask of the same ratio), rrt (θ_0 + θ_f − θ_b);
#   3. Launch/t3s_report.py writes the table and the shock-curve plot.
# TARGET_STYLE picks the style of step 2's traces: 1 (default, a change of
# procedure, as above) or 3 (style 0's steps re-phrased with spaces and
# parentheses only: a change of phrasing, the same digits and steps).
#   Launch/t3s-experiment.sh                  # seeds 1 2 3, all arms
#   SEEDS=1 ARMS="sft t3s" Launch/t3s-experiment.sh t3s.examples=100
#   TARGET_STYLE=3 OUT=runs/t3s-phrasing Launch/t3s-experiment.sh
# Extra arguments are passed to every arm as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/ispo-cluster}"
SEEDS="${SEEDS:-1 2 3}"
ARMS="${ARMS:-sft t3s anti random rrt}"
OUT="${OUT:-runs/t3s-exp}"
STUDENT_STEPS="${STUDENT_STEPS:-600}"
STEPS="${STEPS:-300}"
TARGET_STYLE="${TARGET_STYLE:-1}"
case "$TARGET_STYLE" in 1|2|3) ;; *) echo "TARGET_STYLE must be 1, 2 or 3 (the student is style 0), got '$TARGET_STYLE'" >&2; exit 2;; esac
mkdir -p "$OUT"
common=(data.max_prompt_length=16 data.max_response_length=72 rollout.max_new_tokens=72 model.tiny.max_seq_len=96
        "data.val_files=[synthetic:addition:3]" data.val_batch_size=256)
for seed in $SEEDS; do
  student="$OUT/student-s$seed"
  if [ ! -f "$student/checkpoints/latest_checkpointed_iteration.txt" ]; then
    echo "== student, seed $seed: $STUDENT_STEPS SFT steps on addition:3 (style 0)"
    rm -rf "$student"
    "$BIN" run --sft-steps "$STUDENT_STEPS" --sft-batch 32 --sft-lr 3e-3 trainer.pipeline=sft trainer.seed="$seed" \
      trainer.val_before_train=false trainer.default_local_dir="$student" checkpoint.save_freq=1 \
      checkpoint.resume_mode=disable "data.train_files=[synthetic:addition:3]" "${common[@]}" \
      > "$student.log" 2>&1 || { tail -5 "$student.log" >&2; exit 1; }
    grep -E "val-core/all/acc/mean@1" "$student.log" || true
  fi
  for arm in $ARMS; do
    run="$OUT/$arm-s$seed"
    rm -rf "$run"
    start=$(date +%s)
    "$BIN" run --sft-steps "$STEPS" --sft-batch 16 --sft-lr 1e-3 trainer.pipeline=t3s t3s.arm="$arm" \
      trainer.seed="$seed" trainer.default_local_dir="$run" checkpoint.resume_mode=disable \
      model.path="$student/checkpoints" "data.train_files=[synthetic:addition:3@style$TARGET_STYLE]" \
      t3s.examples=200 t3s.probe_freq=10 t3s.probe_prompts=64 "${common[@]}" "$@" > "$run.log" 2>&1 \
      || { echo "run failed: $run.log" >&2; tail -5 "$run.log" >&2; exit 1; }
    echo "== $arm, seed $seed: $(grep -E 'val-core/all/acc/mean@1' "$run.log" | sed 's/^ *//') ($(( $(date +%s) - start )) s)"
  done
done
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib
python3 Launch/t3s_report.py "$OUT" --arms $ARMS --seeds $SEEDS
