#!/usr/bin/env bash
# Proves a refactor changed no behaviour: runs five short jobs with one binary
# and writes their metrics under OUT; run it with the binary before and after
# the change, then compare the two directories with Launch/compare_metrics.py.
#   BIN=/tmp/before/ispo-cluster OUT=runs/refcheck-before Launch/refactor-check.sh
#   BIN=.build/release/ispo-cluster OUT=runs/refcheck-after Launch/refactor-check.sh
#   python3 Launch/compare_metrics.py runs/refcheck-before runs/refcheck-after
# The jobs: the default job (8 ranks), a short ISPO run (4 ranks), a short
# MOTAB distill run (4 ranks, the frozen starting student as teacher), a short
# MoT run (8 ranks, reference-writer teachers) and an RL run stopped after 2
# steps and resumed to 4 (4 ranks). Each takes well under a minute on 2 cores.
# CASES="default ispo" runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
source Cluster/env.sh
BIN="${BIN:-.build/release/ispo-cluster}"
OUT="${OUT:?set OUT to the directory for the metrics of this binary}"
CASES="${CASES:-default ispo motab mot resume}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
mpi() { local n=$1; shift
  local flags=(-n "$n" -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle)
  [ "$n" -gt "$(nproc)" ] && flags+=(--oversubscribe)
  mpirun "${flags[@]}" "$BIN" "$@"; }
run_case() { local name=$1; shift
  rm -rf "$OUT/$name"
  echo "== $name"
  if ! "$@" trainer.default_local_dir="$OUT/$name" > "$OUT/$name.log" 2>&1; then
    echo "   FAILED (log: $OUT/$name.log)"; tail -5 "$OUT/$name.log"; return 1
  fi
  grep -E "final report|val-core/all" "$OUT/$name.log" | tail -2 | sed 's/^/   /' || true; }
tiny=(data.max_prompt_length=16 data.max_response_length=48 rollout.max_new_tokens=48 model.tiny.max_seq_len=72)
for c in $CASES; do
  case $c in
    default) run_case default mpi 8 ;;
    ispo) run_case ispo mpi 4 run --sft-steps 60 trainer.pipeline=demo algorithm.ispo.enable=true \
            trainer.total_steps=4 trainer.test_freq=2 "data.train_files=[synthetic:addition:2,synthetic:chain:3]" \
            data.train_batch_size=8 data.val_batch_size=32 rollout.n=4 actor.ppo_mini_batch_size=8 "${tiny[@]}" ;;
    motab) run_case motab mpi 4 run --sft-steps 60 trainer.pipeline=distill distillation.mode=motab \
            "distillation.teacher_models=[student]" distillation.window=8 cluster.layout=distill-4 \
            trainer.total_steps=3 trainer.test_freq=3 "data.train_files=[synthetic:chain:3]" \
            data.train_batch_size=4 data.val_batch_size=16 rollout.n=2 actor.ppo_mini_batch_size=4 \
            actor.ppo_micro_batch_size_per_gpu=8 "${tiny[@]}" ;;
    mot) run_case mot mpi 8 run --sft-batch 16 --sft-lr 1e-3 trainer.pipeline=mot cluster.layout=mot-8 \
            merge.rounds=2 merge.trace_prompts=48 \
            "distillation.teacher_models=[reference@style0,reference@style1,reference@style2]" \
            "data.train_files=[synthetic:addition:2]" data.val_batch_size=16 \
            data.max_prompt_length=16 data.max_response_length=100 rollout.max_new_tokens=100 model.tiny.max_seq_len=128 ;;
    resume)
      args=(run --sft-steps 40 trainer.pipeline=demo trainer.test_freq=2 "data.train_files=[synthetic:addition:2]"
            data.train_batch_size=8 data.val_batch_size=32 rollout.n=4 actor.ppo_mini_batch_size=8
            checkpoint.save_freq=2 "${tiny[@]}")
      run_case resume mpi 4 "${args[@]}" trainer.total_steps=2
      # The rerun finds the step-2 checkpoint (resume_mode=auto) and continues to step 4.
      echo "== resume (continued)"
      mpi 4 "${args[@]}" trainer.total_steps=4 trainer.default_local_dir="$OUT/resume" >> "$OUT/resume.log" 2>&1 \
        || { echo "   FAILED (log: $OUT/resume.log)"; exit 1; } ;;
    *) echo "unknown case $c (expected default ispo motab mot resume)"; exit 2 ;;
  esac
done
echo "metrics of $BIN under $OUT"
