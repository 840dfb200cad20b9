#!/usr/bin/env bash
# The main job: `mpirun -n 8 ispo-cluster` on its built-in default (SFT warm
# start → greedy eval → GRPO → eval of a tiny model on 2-digit addition).
# Sets the machine up first if needed, and handles root and oversubscription.
#   Launch/run.sh                       # 8 ranks, default job
#   RANKS=4 Launch/run.sh trainer.total_steps=40 rollout.n=16
#   Launch/run.sh --config my.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/setup.sh
source Cluster/env.sh
ranks="${RANKS:-8}"
flags=(-n "$ranks" -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_)
[ "$ranks" -gt "$(nproc)" ] && flags+=(--oversubscribe)
exec mpirun "${flags[@]}" .build/release/ispo-cluster "$@"
