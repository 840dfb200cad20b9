#!/usr/bin/env bash
# MOTAB round two (issue #18; protocol in Docs/Results-MOTAB.md §2 and its
# addendum, committed before the runs). A student with room to learn, every
# trigger as a full arm, and the controls the issue asks for. The default testbed
# is the `checked` family (§1b: the one built so that a wrong step contradicts
# the question):
#   1. Teacher: tiny Llama 128 × 4, SFT on TEACHER_TRAIN (checked:4 + checked:6) for
#      TEACHER_SFT_STEPS (2400: 100 % on both, §1b). TEACHER=<run dir> copies an
#      already-trained teacher run instead (e.g. runs/motab-checked-t2400/teacher).
#   2. Student per seed: 96 × 3, ffn 256 (≈ 0.33 M parameters), SFT on STUDENT_TRAIN
#      (checked:4 + the target). STUDENT_SFT_STEPS=auto (the default) searches the
#      step count on a 50-step grid in [STUDENT_LO, STUDENT_HI] by bisection until the
#      greedy accuracy on the target is in 40–60 % (every try is kept and logged);
#      a number trains exactly that many steps.
#   3. Arms, all from the seed's student, STEPS distill steps on TARGET prompts:
#        sft                  off-policy SFT on the teacher's correct traces
#        on_policy_full       on-policy distillation, full reverse-KL estimator
#        on_policy_sampled    on-policy distillation, sampled estimator
#        motab_student        student-entropy trigger, per-rollout boundary (round one)
#        motab_student_family student-entropy trigger, boundary kept per family across steps
#        motab_teacher        teacher-entropy trigger, boundary kept per family across steps
#        motab_logratio       teacher log-ratio trigger (log π_S − log π_T of each student
#                             token), boundary kept per family across steps
#        random_student       random trigger at motab_student's measured intervention
#                             rate (per student token), so its precision is the base
#                             rate a trigger must beat
#        random_logratio      the same, matched to motab_logratio
#        random               the same, matched to motab_student_family (§2's control;
#                             not in the default list: that arm hardly fires, §2c)
#   4. Greedy accuracy on the target and a longer family (LONGER), intervention rate,
#      rollback depth, trigger precision / recall and the base error rate per step;
#      the report (Launch/motab_report.py --target) adds the verdict.
#
#   Launch/motab-round2.sh                               # the protocol: 1000 steps, seeds 1 2 3
#   TEACHER=runs/motab-checked-t2400/teacher OUT=runs/motab-r2c Launch/motab-round2.sh
#   SEEDS=1 STEPS=100 ARMS="on_policy_full motab_logratio" OUT=runs/motab-r2-pilot Launch/motab-round2.sh
#   TARGET=chain:6 LONGER=chain:8 TEACHER_TRAIN=synthetic:chain:4,synthetic:chain:6,synthetic:chain:8 \
#     TEACHER_SFT_STEPS=1200 STUDENT_TRAIN=synthetic:chain:4,synthetic:chain:6 PROMPT_LEN=32 RESPONSE_LEN=112 \
#     STUDENT_SFT_STEPS=3000 OUT=runs/motab-r2 Launch/motab-round2.sh   # the chain testbed of §3's pilots
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then Launch/setup.sh; BIN=.build/release/ispo-cluster; fi
source Cluster/env.sh
seeds="${SEEDS:-1 2 3}"
arms="${ARMS:-sft on_policy_full on_policy_sampled motab_student motab_student_family motab_teacher motab_logratio random_student random_logratio}"
ranks="${RANKS:-8}"
steps="${STEPS:-1000}"
lr="${LR:-1e-4}"
target="${TARGET:-checked:6}"
longer="${LONGER:-checked:8}"
teacher_train="${TEACHER_TRAIN:-synthetic:checked:4,synthetic:checked:6}"
teacher_sft="${TEACHER_SFT_STEPS:-2400}"
student_train="${STUDENT_TRAIN:-synthetic:checked:4,synthetic:$target}"
student_sft="${STUDENT_SFT_STEPS:-auto}"
student_lo="${STUDENT_LO:-600}"
student_hi="${STUDENT_HI:-1000}"
prompt_len="${PROMPT_LEN:-40}"
response_len="${RESPONSE_LEN:-80}"
out="${OUT:-runs/motab-r2c}"
mkdir -p "$out"

common=(data.max_prompt_length="$prompt_len" data.max_response_length="$response_len" rollout.max_new_tokens="$response_len"
        model.tiny.max_seq_len=$(( prompt_len + response_len ))
        "data.val_files=[synthetic:$target,synthetic:$longer]" data.val_batch_size=128)

teacher="$out/teacher"
if [ ! -f "$teacher/checkpoints/latest_checkpointed_iteration.txt" ]; then
  rm -rf "$teacher"
  if [ -n "${TEACHER:-}" ]; then
    echo "== teacher: a copy of $TEACHER"
    cp -r "$TEACHER" "$teacher"
  else
    echo "== teacher: SFT $teacher_sft steps on $teacher_train → $teacher"
    "$BIN" run --sft-steps "$teacher_sft" --sft-batch 32 --sft-lr 3e-3 \
      trainer.pipeline=sft trainer.seed=100 trainer.val_before_train=false trainer.experiment_name="${out#runs/}/teacher" checkpoint.save_freq=1 \
      "data.train_files=[$teacher_train]" model.tiny.dim=128 model.tiny.layers=4 \
      "${common[@]}" > "$out/teacher.log" 2>&1 || { tail -5 "$out/teacher.log" >&2; exit 1; }
  fi
  # The teacher on the study's two families (greedy, the same held-out prompts as the students').
  "$BIN" run trainer.pipeline=eval model.path="$teacher/checkpoints" checkpoint.resume_mode=disable \
    trainer.experiment_name="${out#runs/}/teacher-eval" "${common[@]}" > "$out/teacher-eval.log" 2>&1 \
    || { tail -5 "$out/teacher-eval.log" >&2; exit 1; }
  grep -E "val-core/.*/acc/mean@1" "$out/teacher-eval.log" || true
fi

source Launch/step-search.sh
# One student SFT run of $1 steps for seed $seed into $2; prints its greedy accuracy (%) on the target.
train_student() {
  "$BIN" run --sft-steps "$1" --sft-batch 32 --sft-lr 3e-3 \
    trainer.pipeline=sft trainer.seed="$seed" trainer.val_before_train=false trainer.experiment_name="${2#runs/}" \
    checkpoint.save_freq=1 checkpoint.resume_mode=disable "data.train_files=[$student_train]" \
    model.tiny.dim=96 model.tiny.layers=3 model.tiny.ffn_dim=256 \
    "${common[@]}" > "$2.log" 2>&1 || { tail -5 "$2.log" >&2; exit 1; }
  last_acc "$2/metrics.jsonl" "val-core/$target/acc/mean@1"
}

# The seed's student in $out/student-s$seed: a fixed step count, or the search of
# STUDENT_SFT_STEPS=auto into 40–60 % on the target (Launch/step-search.sh).
make_student() {
  echo "== student, seed $seed ($student_train), accuracy on $target"
  fixed_or_search train_student "$out/student-s$seed" "$student_sft" "$student_lo" "$student_hi" 40 60
}

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
    random|random_*) echo "distillation.mode=motab distillation.trigger=random distillation.random_rate=$2" ;;
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
  [ -f "$student/checkpoints/latest_checkpointed_iteration.txt" ] || make_student || exit 1
  [ "$arms" = none ] && continue   # ARMS=none: only the teacher and the students (pilots of the testbed)
  for arm in $arms; do
    rate=""
    case "$arm" in
      random) match=motab_student_family ;;
      random_*) match="motab_${arm#random_}" ;;
      *) match="" ;;
    esac
    if [ -n "$match" ]; then
      ref="runs/${out#runs/}/$match-s$seed/metrics.jsonl"
      [ -f "$ref" ] || { echo "$arm needs $match-s$seed first (its intervention rate)" >&2; exit 1; }
      rate=$(matched_rate "$ref"); echo "   random trigger rate $rate per student token (matched to $match)"
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
python3 Launch/motab_report.py "$out" --modes $arms --target "$target" --figures "$out/figures"
