#!/usr/bin/env bash
# Merge-of-Thought round two (issue #18; protocol in Docs/Results-MoT.md,
# committed before its runs): refinement, not acquisition.
#   1. Three teachers that share one token format (addition:3, style 0) and differ
#      in capacity, data and seed: 64 × 2 on addition:3; 96 × 3 on addition:3 +
#      addition:2; 128 × 4 on addition:3. TEACHER_STEPS=auto (the default) searches
#      each teacher's SFT steps in [TEACHER_LO, TEACHER_HI] until it is 80–95 % correct
#      on addition:3 (Launch/step-search.sh); a number trains teachers 0 and 1 that
#      long and teacher 2 half as long.
#   2. One student per seed (64 × 4), warm-started on addition:2 and addition:3 to
#      50–70 % on addition:3 (STUDENT_SFT_STEPS=auto searches [STUDENT_LO, STUDENT_HI];
#      a number trains that long): the branches share a base that already has the skill.
#      Teachers keep their wrong traces (KEEP_WRONG=true: merge.keep_wrong_traces),
#      so a teacher at 90 % gives 10 % unfiltered traces, in every arm alike.
#   3. Arms from that student, T = ROUNDS rounds of E = 1 epoch over TRACES traces
#      per teacher (TRACES / 32 = 16–32 steps per branch per round), lr LR ≤ 3e-4:
#        none                MoT, uniform merge, with the mechanism probes
#                            (merge.probe_prompts: branch accuracy, loss barrier)
#        teacher0..2         one single-teacher run per teacher (the best of them is
#                            the best-single-teacher baseline), equal total steps
#        union               all traces pooled, equal total steps
#        teacher0..2_epochs, union_epochs   the same at equal epochs (E = 1)
#   4. Greedy accuracy after every round on addition:3 (target), addition:4
#      (longer operands) and addition:2 (the warm-start family: forgetting).
#
#   Launch/mot-round2.sh                                 # seeds 1 2 3, every arm
#   SEEDS=1 ARMS="none union" ROUNDS=2 OUT=runs/mot-r2-pilot Launch/mot-round2.sh
#   SEEDS=1 ARMS=none-only OUT=runs/mot-r2-pilot Launch/mot-round2.sh   # teachers and student only
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then Launch/setup.sh; BIN=.build/release/ispo-cluster; fi
source Cluster/env.sh
seeds="${SEEDS:-1 2 3}"
arms="${ARMS:-none teacher0 teacher1 teacher2 union teacher0_epochs teacher1_epochs teacher2_epochs union_epochs}"
rounds="${ROUNDS:-8}"
traces="${TRACES:-768}"
lr="${LR:-3e-4}"
teacher_steps="${TEACHER_STEPS:-auto}"
teacher_lo="${TEACHER_LO:-300}"
teacher_hi="${TEACHER_HI:-600}"
student_sft="${STUDENT_SFT_STEPS:-auto}"
student_lo="${STUDENT_LO:-300}"
student_hi="${STUDENT_HI:-600}"
keep_wrong="${KEEP_WRONG:-true}"
probe="${PROBE:-64}"
out="${OUT:-runs/mot-r2}"
mkdir -p "$out"
lengths=(data.max_prompt_length=16 data.max_response_length=100 rollout.max_new_tokens=100)
val=("data.val_files=[synthetic:addition:3,synthetic:addition:4,synthetic:addition:2]" data.val_batch_size=100)

# 1. Teachers: one format, different capacity / data / seed.
teacher_spec() {
  case "$1" in
    0) echo "model.tiny.dim=64 model.tiny.layers=2 model.tiny.ffn_dim=192 data.train_files=[synthetic:addition:3]" ;;
    1) echo "model.tiny.dim=96 model.tiny.layers=3 model.tiny.ffn_dim=256 data.train_files=[synthetic:addition:3,synthetic:addition:2]" ;;
    2) echo "model.tiny.dim=128 model.tiny.layers=4 model.tiny.ffn_dim=384 data.train_files=[synthetic:addition:3]" ;;
  esac
}
source Launch/step-search.sh
# Teacher $k trained for $1 steps into $2; prints its greedy accuracy (%) on addition:3.
train_teacher() {
  # shellcheck disable=SC2046
  "$BIN" run --sft-steps "$1" --sft-batch 32 --sft-lr 3e-3 trainer.pipeline=sft trainer.seed=$((200 + k)) \
    trainer.val_before_train=false trainer.experiment_name="${2#runs/}" checkpoint.save_freq=1 checkpoint.resume_mode=disable \
    $(teacher_spec $k) model.tiny.max_seq_len=128 "${lengths[@]}" "${val[@]}" > "$2.log" 2>&1 \
    || { tail -5 "$2.log" >&2; exit 1; }
  last_acc "$2/metrics.jsonl" "val-core/addition:3/acc/mean@1"
}
list=()
for k in 0 1 2; do
  t="$out/teacher$k"
  list+=("$t/checkpoints")
  [ -f "$t/checkpoints/latest_checkpointed_iteration.txt" ] && continue
  echo "== teacher $k ($(teacher_spec $k)), accuracy on addition:3"
  steps=$teacher_steps; [ "$steps" != auto ] && [ "$k" = 2 ] && steps=$(( teacher_steps / 2 ))
  fixed_or_search train_teacher "$t" "$steps" "$teacher_lo" "$teacher_hi" 80 95 || exit 1
done
teachers="[$(IFS=,; echo "${list[*]}")]"

arm_args() {
  case "$1" in
    none) echo "merge.baseline=none merge.probe_prompts=$probe" ;;
    teacher[0-2]) echo "merge.baseline=teacher merge.teacher_index=${1#teacher}" ;;
    union) echo "merge.baseline=union" ;;
    teacher[0-2]_epochs) t="${1%_epochs}"; echo "merge.baseline=teacher merge.teacher_index=${t#teacher} merge.baseline_budget=epochs" ;;
    union_epochs) echo "merge.baseline=union merge.baseline_budget=epochs" ;;
    *) echo "unknown arm $1" >&2; exit 2 ;;
  esac
}

flags=(-n 8 --oversubscribe -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_)
student_model=(model.tiny.dim=64 model.tiny.layers=4 model.tiny.ffn_dim=192 model.tiny.max_seq_len=128)
# The seed's student trained for $1 steps into $2; prints its greedy accuracy (%) on addition:3.
train_student() {
  "$BIN" run --sft-steps "$1" --sft-batch 32 --sft-lr 3e-3 trainer.pipeline=sft trainer.seed="$seed" \
    trainer.val_before_train=false trainer.experiment_name="${2#runs/}" checkpoint.save_freq=1 checkpoint.resume_mode=disable \
    "data.train_files=[synthetic:addition:2,synthetic:addition:3]" "${lengths[@]}" "${val[@]}" "${student_model[@]}" \
    > "$2.log" 2>&1 || { tail -5 "$2.log" >&2; exit 1; }
  last_acc "$2/metrics.jsonl" "val-core/addition:3/acc/mean@1"
}
for seed in $seeds; do
  student="$out/student-s$seed"
  if [ ! -f "$student/checkpoints/latest_checkpointed_iteration.txt" ]; then
    echo "== student, seed $seed (addition:2 + addition:3), accuracy on addition:3"
    fixed_or_search train_student "$student" "$student_sft" "$student_lo" "$student_hi" 50 70 || exit 1
  fi
  [ "$arms" = none-only ] && continue   # ARMS=none-only: teachers and students only (pilots of the testbed)
  for arm in $arms; do
    name="${out#runs/}/mot-$arm-seed$seed"
    echo "== $name"
    rm -rf "runs/$name"
    # shellcheck disable=SC2046
    mpirun "${flags[@]}" "$BIN" run --sft-batch 32 --sft-lr "$lr" \
      trainer.pipeline=mot trainer.experiment_name="$name" trainer.seed="$seed" cluster.layout=mot-8 checkpoint.resume_mode=disable \
      $(arm_args "$arm") merge.rounds="$rounds" merge.epochs_per_round=1 merge.trace_prompts="$traces" merge.keep_wrong_traces="$keep_wrong" \
      "distillation.teacher_models=$teachers" "data.train_files=[synthetic:addition:3]" \
      "${lengths[@]}" "${val[@]}" "${student_model[@]}" model.path="$student/checkpoints" "$@" \
      > "$out/mot-$arm-seed$seed.log" 2>&1 || { tail -5 "$out/mot-$arm-seed$seed.log" >&2; exit 1; }
    grep -E "val-core/.*/acc/mean@1" "$out/mot-$arm-seed$seed.log" | tail -3 || true
  done
done
[ "$arms" = none-only ] && exit 0
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib || echo "matplotlib missing: no plots"
python3 Launch/mot_report.py --runs "$out" --seeds $seeds --arms $arms --levels addition:3 addition:4 addition:2 \
  --out "$out/results.md" --figure "$out/figures/mot-r2-accuracy.png"
