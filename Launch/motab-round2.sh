#!/usr/bin/env bash
# MOTAB round two (issue #18; protocol in Docs/Results-MOTAB.md, committed before
# its runs). A student with room to learn, every trigger as a full arm, and the
# controls the issue asks for:
#   1. Teacher: tiny Llama 128 × 4, SFT on chain:4, chain:6 and chain:8 reference
#      traces (TEACHER_SFT_STEPS; target ≈ 95 % on the target family).
#   2. Student per seed: 96 × 3, ffn 256 (≈ 0.33 M parameters), SFT on chain:4 and
#      the target family for STUDENT_SFT_STEPS (tuned by pilots to 40–60 % on the target).
#   3. Arms, all from the seed's student, STEPS distill steps on TARGET prompts:
#        sft                  off-policy SFT on the teacher's correct traces
#        on_policy_full       on-policy distillation, full reverse-KL estimator
#        on_policy_sampled    on-policy distillation, sampled estimator
#        motab_student        student-entropy trigger, per-rollout boundary (round one)
#        motab_student_family student-entropy trigger, boundary kept per family across steps
#        motab_teacher        teacher-entropy trigger, boundary kept per family across steps
#        motab_logratio       teacher log-ratio trigger (log π_S − log π_T of each student
#                             token), boundary kept per family across steps (not in the default list)
#        random               random trigger at motab_student_family's measured
#                             intervention rate (per student token), so its precision
#                             is the base rate a trigger must beat
#   4. Greedy accuracy on the target and a longer family (LONGER), intervention rate,
#      rollback depth, trigger precision / recall and the base error rate per step.
#
#   Launch/motab-round2.sh                               # the protocol: 1000 steps, seeds 1 2 3
#   SEEDS=1 STEPS=100 ARMS="on_policy_full motab_student_family" OUT=runs/motab-r2-pilot Launch/motab-round2.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then Launch/setup.sh; BIN=.build/release/ispo-cluster; fi
source Cluster/env.sh
seeds="${SEEDS:-1 2 3}"
arms="${ARMS:-sft on_policy_full on_policy_sampled motab_student motab_student_family motab_teacher random}"
ranks="${RANKS:-8}"
steps="${STEPS:-1000}"
lr="${LR:-1e-4}"
target="${TARGET:-chain:6}"
longer="${LONGER:-chain:8}"
teacher_sft="${TEACHER_SFT_STEPS:-1200}"
student_sft="${STUDENT_SFT_STEPS:-400}"
out="${OUT:-runs/motab-r2}"
mkdir -p "$out"

common=(data.max_prompt_length=32 data.max_response_length=112 rollout.max_new_tokens=112 model.tiny.max_seq_len=144
        "data.val_files=[synthetic:$target,synthetic:$longer]" data.val_batch_size=128)

teacher="$out/teacher"
if [ ! -f "$teacher/checkpoints/latest_checkpointed_iteration.txt" ]; then
  rm -rf "$teacher"
  echo "== teacher: SFT $teacher_sft steps on chain:4, $target, $longer → $teacher"
  "$BIN" run --sft-steps "$teacher_sft" --sft-batch 32 --sft-lr 3e-3 \
    trainer.pipeline=sft trainer.seed=100 trainer.val_before_train=false trainer.experiment_name="${out#runs/}/teacher" checkpoint.save_freq=1 \
    "data.train_files=[synthetic:chain:4,synthetic:$target,synthetic:$longer]" model.tiny.dim=128 model.tiny.layers=4 \
    "${common[@]}" > "$out/teacher.log" 2>&1 || { tail -5 "$out/teacher.log" >&2; exit 1; }
  grep -E "val-core/.*/acc/mean@1" "$out/teacher.log" || true
fi

# Overrides of each arm.
arm_args() {
  case "$1" in
    sft) echo "distillation.mode=sft" ;;
    on_policy_full) echo "distillation.mode=on_policy distillation.estimator=full" ;;
    on_policy_sampled) echo "distillation.mode=on_policy distillation.estimator=sampled" ;;
    motab_student) echo "distillation.mode=motab distillation.trigger=student distillation.boundary=rollout" ;;
    motab_student_family) echo "distillation.mode=motab distillation.trigger=student distillation.boundary=family" ;;
    motab_teacher) echo "distillation.mode=motab distillation.trigger=teacher distillation.boundary=family" ;;
    motab_logratio) echo "distillation.mode=motab distillation.trigger=teacher_logratio distillation.boundary=family" ;;
    random) echo "distillation.mode=motab distillation.trigger=random distillation.random_rate=$2" ;;
    *) echo "unknown arm $1" >&2; exit 2 ;;
  esac
}

# Interventions per student token of a finished arm (mean over its steps): the random arm's rate.
matched_rate() {
  python3 - "$1" <<'PY'
import json, sys
iv = tok = 0.0
for line in open(sys.argv[1]):
    d = json.loads(line).get("data", {})
    if "motab/interventions_per_rollout" in d and "response_length/mean" in d:
        iv += d["motab/interventions_per_rollout"]; tok += d["response_length/mean"] * (1 - d.get("motab/teacher_token_frac", 0))
print(f"{iv / tok:.5f}" if tok > 0 else "0.02")
PY
}

flags=(-n "$ranks" -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_)
[ "$ranks" -gt "$(nproc)" ] && flags+=(--oversubscribe)
for seed in $seeds; do
  student="$out/student-s$seed"
  if [ ! -f "$student/checkpoints/latest_checkpointed_iteration.txt" ]; then
    rm -rf "$student"
    echo "== student, seed $seed: SFT $student_sft steps on chain:4 + $target → $student"
    "$BIN" run --sft-steps "$student_sft" --sft-batch 32 --sft-lr 3e-3 \
      trainer.pipeline=sft trainer.seed="$seed" trainer.val_before_train=false trainer.experiment_name="${out#runs/}/student-s$seed" \
      checkpoint.save_freq=1 checkpoint.resume_mode=disable "data.train_files=[synthetic:chain:4,synthetic:$target]" \
      model.tiny.dim=96 model.tiny.layers=3 model.tiny.ffn_dim=256 \
      "${common[@]}" > "$out/student-s$seed.log" 2>&1 || { tail -5 "$out/student-s$seed.log" >&2; exit 1; }
    grep -E "val-core/.*/acc/mean@1" "$out/student-s$seed.log" || true
  fi
  [ "$arms" = none ] && continue   # ARMS=none: only the teacher and the students (pilots of the testbed)
  for arm in $arms; do
    rate=""
    if [ "$arm" = random ]; then
      ref="runs/${out#runs/}/motab_student_family-s$seed/metrics.jsonl"
      [ -f "$ref" ] || { echo "random needs motab_student_family-s$seed first (its intervention rate)" >&2; exit 1; }
      rate=$(matched_rate "$ref"); echo "   random trigger rate $rate per student token (matched to motab_student_family)"
    fi
    name="${out#runs/}/$arm-s$seed"
    rm -rf "runs/$name"
    echo "== $arm, seed $seed → runs/$name"
    start=$(date +%s)
    # shellcheck disable=SC2046
    mpirun "${flags[@]}" "$BIN" run --sft-steps 0 \
      trainer.pipeline=distill $(arm_args "$arm" "$rate") "distillation.teacher_models=[$teacher]" \
      distillation.window=8 model.path="$student/checkpoints" checkpoint.resume_mode=disable \
      trainer.seed="$seed" trainer.experiment_name="$name" trainer.total_steps="$steps" trainer.test_freq=$(( steps / 10 > 0 ? steps / 10 : 1 )) \
      "data.train_files=[synthetic:$target]" data.train_batch_size=8 rollout.n=4 \
      actor.ppo_mini_batch_size=8 actor.ppo_micro_batch_size_per_gpu=16 actor.optim.lr="$lr" \
      "${common[@]}" "$@" > "$out/$arm-s$seed.log" 2>&1 \
      || { echo "run failed; log: $out/$arm-s$seed.log" >&2; tail -5 "$out/$arm-s$seed.log" >&2; exit 1; }
    echo "   $(( $(date +%s) - start )) s"
    grep -E "val-core/.*/acc/mean@1" "$out/$arm-s$seed.log" | tail -2 || true
  done
done
[ "$arms" = none ] && exit 0
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib
python3 Launch/motab_report.py "$out" --modes $arms --figures "$out/figures"
