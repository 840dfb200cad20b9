#!/usr/bin/env bash
# MOTAB vs on-policy distillation vs off-policy SFT on teacher traces (METHODS §2),
# then the table and plots of Docs/Results-MOTAB.md.
#   1. A stronger tiny teacher (dim 128 × 4 layers) is trained by SFT on chain:4 and
#      chain:6 reference traces (TEACHER_TRAIN) and saved as a step-0 checkpoint (pipeline sft).
#   2. For each seed, one student (dim 64 × 2 layers) is trained by SFT on chain:4 (STUDENT_TRAIN)
#      only (STUDENT_SFT_STEPS, seeded) and saved: it solves short chains but not
#      long ones. All three modes of a seed start from that checkpoint (model.path).
#   3. Each student is distilled from the teacher on chain:4 prompts with mpirun -n 8
#      (2 learners, 4 rollout, 2 teachers): distillation.mode = motab | on_policy | sft.
#      (Distilling on chain:6, the long chains it cannot do yet, wiped out the 64×2
#      student at lr 3e-4 in every mode: chain:4 78% → 3%, chain:6 stayed ≤ 3%.)
#   4. Greedy accuracy on 128 held-out prompts of chain:4 (in distribution) and
#      chain:6 (long chains, out of distribution), and MOTAB's intervention rate,
#      rollback depth and trigger precision/recall per step.
#
#   Launch/motab-experiment.sh
#   SEEDS="1 2 3 4 5" STEPS=100 Launch/motab-experiment.sh
#   BIN=.build-x/release/ispo-cluster Launch/motab-experiment.sh   # an already-built binary (skips setup)
#   TEACHER_TRAIN=synthetic:checked:4,synthetic:checked:6 STUDENT_TRAIN=synthetic:checked:4 PROMPT_LEN=40 \
#     VAL=synthetic:checked:4,synthetic:checked:6 MODES=none OUT=runs/motab-checked Launch/motab-experiment.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then Launch/setup.sh; BIN=.build/release/ispo-cluster; fi
source Cluster/env.sh
seeds="${SEEDS:-1 2 3}"
modes="${MODES:-motab on_policy sft}"
ranks="${RANKS:-8}"
steps="${STEPS:-200}"
lr="${LR:-1e-4}"
student_sft="${STUDENT_SFT_STEPS:-1500}"
student_train="${STUDENT_TRAIN:-synthetic:chain:4}"
teacher_train="${TEACHER_TRAIN:-synthetic:chain:4,synthetic:chain:6}"
teacher_sft="${TEACHER_SFT_STEPS:-600}"
prompt_len="${PROMPT_LEN:-32}"
out="${OUT:-runs/motab-exp}"
train="${TRAIN:-synthetic:chain:4}"
val="${VAL:-synthetic:chain:4,synthetic:chain:6}"
mkdir -p "$out"

# Shared by teacher and students: lengths that hold a 6-operation chain.
common=(data.max_prompt_length="$prompt_len" data.max_response_length=80 rollout.max_new_tokens=80 model.tiny.max_seq_len=$(( prompt_len + 80 ))
        "data.val_files=[$val]" data.val_batch_size=128)

# 1. The teacher: one process (no idle ranks competing for the two cores).
teacher="$out/teacher"
if [ ! -f "$teacher/checkpoints/latest_checkpointed_iteration.txt" ]; then
  rm -rf "$teacher"
  echo "== teacher: SFT $teacher_sft steps on $teacher_train → $teacher"
  "$BIN" run --sft-steps "$teacher_sft" --sft-batch 32 --sft-lr 3e-3 \
    trainer.pipeline=sft trainer.seed=100 trainer.val_before_train=false trainer.experiment_name="${out#runs/}/teacher" checkpoint.save_freq=1 \
    "data.train_files=[$teacher_train]" model.tiny.dim=128 model.tiny.layers=4 \
    "${common[@]}" > "$out/teacher.log" 2>&1 || { tail -5 "$out/teacher.log" >&2; exit 1; }
  grep -E "val-core/.*/acc/mean@1" "$out/teacher.log" || true
fi

flags=(-n "$ranks" -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_)
[ "$ranks" -gt "$(nproc)" ] && flags+=(--oversubscribe)
for seed in $seeds; do
  # 2. The seed's student: SFT on short chains only, one process, saved as a checkpoint.
  student="$out/student-s$seed"
  if [ ! -f "$student/checkpoints/latest_checkpointed_iteration.txt" ]; then
    rm -rf "$student"
    echo "== student, seed $seed: SFT $student_sft steps on $student_train → $student"
    "$BIN" run --sft-steps "$student_sft" --sft-batch 32 --sft-lr 3e-3 \
      trainer.pipeline=sft trainer.seed="$seed" trainer.val_before_train=false trainer.experiment_name="${out#runs/}/student-s$seed" \
      checkpoint.save_freq=1 checkpoint.resume_mode=disable "data.train_files=[$student_train]" \
      model.tiny.dim=64 model.tiny.layers=2 model.tiny.ffn_dim=192 \
      "${common[@]}" > "$out/student-s$seed.log" 2>&1 || { tail -5 "$out/student-s$seed.log" >&2; exit 1; }
    grep -E "val-core/.*/acc/mean@1" "$out/student-s$seed.log" || true
  fi
  [ "$modes" = none ] && continue   # MODES=none: only the teacher and the students (Launch/motab-premise.sh)
  for mode in $modes; do
    name="${out#runs/}/$mode-s$seed"
    rm -rf "runs/$name"
    echo "== $mode, seed $seed → runs/$name"
    start=$(date +%s)
    mpirun "${flags[@]}" "$BIN" run --sft-steps 0 \
      trainer.pipeline=distill distillation.mode="$mode" "distillation.teacher_models=[$teacher]" \
      distillation.window=8 model.path="$student/checkpoints" checkpoint.resume_mode=disable \
      trainer.seed="$seed" trainer.experiment_name="$name" trainer.total_steps="$steps" trainer.test_freq=$(( steps / 5 )) \
      "data.train_files=[$train]" data.train_batch_size=8 rollout.n=4 \
      actor.ppo_mini_batch_size=8 actor.ppo_micro_batch_size_per_gpu=16 actor.optim.lr="$lr" \
      "${common[@]}" "$@" > "$out/$mode-s$seed.log" 2>&1 \
      || { echo "run failed; log: $out/$mode-s$seed.log" >&2; tail -5 "$out/$mode-s$seed.log" >&2; exit 1; }
    echo "   $(( $(date +%s) - start )) s"
    grep -E "val-core/.*/acc/mean@1" "$out/$mode-s$seed.log" || true
  done
done
[ "$modes" = none ] && exit 0
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib
python3 Launch/motab_report.py "$out" --modes $modes --figures "$out/figures"
