#!/usr/bin/env bash
# Trains the Merge-of-Thought teachers: tiny models SFT-trained on 3-digit
# addition, each in its own trace style (synthetic:addition:3@styleN; the
# verifier checks only the A: line, so all styles are valid). Each teacher is
# saved as a checkpoint that `distillation.teacher_models` can name.
#   Launch/mot-teachers.sh                 # runs/mot-teacher-style{0,1,2}
#   STEPS=400 STYLES="0 2" Launch/mot-teachers.sh
# Reuses a teacher whose checkpoint exists (delete runs/mot-teacher-styleN to retrain).
set -euo pipefail
cd "$(dirname "$0")/.."
source Cluster/env.sh
BIN="${BIN:-.build/release/ispo-cluster}"
STEPS="${STEPS:-600}"
STYLES="${STYLES:-0 1 2}"
for s in $STYLES; do
  run="runs/mot-teacher-style$s"
  if [ -f "$run/checkpoints/latest_checkpointed_iteration.txt" ]; then
    echo "teacher style $s: reusing $run/checkpoints"; continue
  fi
  echo "teacher style $s: $STEPS SFT steps -> $run"
  mpirun -n 2 -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle "$BIN" \
    --sft-steps "$STEPS" --sft-batch 32 --sft-lr 3e-3 \
    trainer.pipeline=sft trainer.experiment_name="mot-teacher-style$s" trainer.val_before_train=false \
    trainer.seed=$((100 + s)) checkpoint.save_freq=1 checkpoint.resume_mode=disable \
    "data.train_files=[synthetic:addition:3@style$s]" \
    "data.val_files=[synthetic:addition:3,synthetic:addition:4,synthetic:addition:5]" data.val_batch_size=100 \
    data.max_prompt_length=16 data.max_response_length=100 rollout.max_new_tokens=100 \
    model.tiny.dim=128 model.tiny.layers=4 model.tiny.ffn_dim=384 model.tiny.max_seq_len=128
done
