#!/usr/bin/env bash
# Merge-of-Thought vs its baselines (METHODS §3) on 8 ranks with 3 teachers:
#   1. trains (or reuses) 3 tiny teachers with distinct trace styles (Launch/mot-teachers.sh);
#   2. for each seed, warm-starts one student (SFT on 2-digit additions in all three
#      styles, STUDENT_SFT_STEPS; saved as runs/mot-student-s<seed>), so MoT's branches
#      start from one shared, pretrained point as in the paper (from a random
#      initialisation the branches' average is a broken model: Docs/Results-MoT.md);
#   3. runs MoT (merge.baseline=none), the teacher with the most correct traces
#      (most_traces; round one called it "best single teacher", which it is not:
#      Launch/mot-round2.sh runs every single-teacher run and takes the best) and the
#      union of all traces (union) from that student, all with the same total
#      optimizer steps, on `mpirun -n 8` with Cluster/mot-8.yaml;
#   4. evaluates greedily after every round on addition:3 (in distribution) and
#      addition:4/5 (longer, out of distribution), and writes a table and plots
#      (Docs/figures/mot-*.png, runs/mot-results.md) with Launch/mot_report.py.
#   Launch/mot-experiment.sh                     # seeds 1 2 3
#   SEEDS="1" ARMS="none union" Launch/mot-experiment.sh merge.rounds=2
# Extra arguments are passed to every student run as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
source Cluster/env.sh
BIN="${BIN:-.build/release/ispo-cluster}"
SEEDS="${SEEDS:-1 2 3}"
ARMS="${ARMS:-none most_traces union}"
STUDENT_SFT_STEPS="${STUDENT_SFT_STEPS:-400}"
LR="${LR:-1e-3}"
export BIN
# TEACHERS overrides the teacher list, e.g. the oracle reference writers (no training):
#   TEACHERS="[reference@style0,reference@style1,reference@style2]" Launch/mot-experiment.sh
teachers="${TEACHERS:-[runs/mot-teacher-style0/checkpoints,runs/mot-teacher-style1/checkpoints,runs/mot-teacher-style2/checkpoints]}"
[ -n "${TEACHERS:-}" ] || Launch/mot-teachers.sh
flags=(-n 8 --oversubscribe -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_)
lengths=(data.max_prompt_length=16 data.max_response_length=100 rollout.max_new_tokens=100)
student_model=(model.tiny.dim=64 model.tiny.layers=4 model.tiny.ffn_dim=192 model.tiny.max_seq_len=128)
for seed in $SEEDS; do
  student="runs/mot-student-s$seed"
  if [ "$STUDENT_SFT_STEPS" -gt 0 ] && [ ! -f "$student/checkpoints/latest_checkpointed_iteration.txt" ]; then
    echo "== student warm start, seed $seed: $STUDENT_SFT_STEPS SFT steps on 2-digit additions (all styles)"
    rm -rf "$student"
    "$BIN" --sft-steps "$STUDENT_SFT_STEPS" --sft-batch 32 --sft-lr 3e-3 \
      trainer.pipeline=sft trainer.experiment_name="mot-student-s$seed" trainer.seed="$seed" \
      trainer.val_before_train=false checkpoint.save_freq=1 checkpoint.resume_mode=disable \
      "data.train_files=[synthetic:addition:2@style0,synthetic:addition:2@style1,synthetic:addition:2@style2]" \
      "data.val_files=[synthetic:addition:2,synthetic:addition:3]" data.val_batch_size=100 \
      "${lengths[@]}" "${student_model[@]}" > "runs/mot-student-s$seed.log" 2>&1 \
      || { tail -5 "runs/mot-student-s$seed.log" >&2; exit 1; }
    grep -E "val-core/.*/acc/mean@1" "runs/mot-student-s$seed.log" || true
  fi
  init=()
  [ "$STUDENT_SFT_STEPS" -gt 0 ] && init=(model.path="$student/checkpoints")
  for arm in $ARMS; do
    name="mot-$arm-seed$seed"
    echo "== $name"
    rm -rf "runs/$name"
    mpirun "${flags[@]}" "$BIN" --sft-batch 32 --sft-lr "$LR" \
      trainer.pipeline=mot trainer.experiment_name="$name" trainer.seed="$seed" cluster.layout=mot-8 \
      checkpoint.resume_mode=disable \
      merge.baseline="$arm" merge.rounds=3 merge.epochs_per_round=2 merge.trace_prompts=1024 \
      "distillation.teacher_models=$teachers" \
      "data.train_files=[synthetic:addition:3]" \
      "data.val_files=[synthetic:addition:3,synthetic:addition:4,synthetic:addition:5]" data.val_batch_size=100 \
      "${lengths[@]}" "${student_model[@]}" "${init[@]}" "$@"
  done
done
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib || echo "matplotlib missing: no plots"
python3 Launch/mot_report.py --seeds $SEEDS --arms $ARMS
