#!/usr/bin/env bash
# MOTAB's premise, measured before any MOTAB run (METHODS §2, issue #18): on
# student rollouts, the depth of the student's first wrong step, and the
# teacher's entropy and greedy-continuation accuracy after the student's prefix
# through that step, against the matched prefix with the correct step instead.
# One process (no MPI). The teacher and the student are Launch/motab-experiment.sh's
# (trained here with MODES=none when their checkpoints are missing).
#
#   Launch/motab-premise.sh                                   # chain:4 and chain:6, 512 rollouts each, seed 1
#   TEACHER=runs/x/teacher STUDENT=runs/x/student-s2 OUT=runs/premise-x Launch/motab-premise.sh
# Output: $OUT/premise.jsonl (one record per rollout with a first error),
# $OUT/premise.summary.json (by depth), $OUT/motab-premise.png.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then Launch/setup.sh; BIN=.build/release/ispo-cluster; fi
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exp="${EXP:-runs/motab-exp}"
seed="${SEED:-1}"
teacher="${TEACHER:-$exp/teacher}"
student="${STUDENT:-$exp/student-s$seed}"
out="${OUT:-runs/motab-premise}"
families="${FAMILIES:-chain:4 chain:6}"
prompts="${PROMPTS:-512}"
if [ ! -f "$teacher/checkpoints/latest_checkpointed_iteration.txt" ] || [ ! -f "$student/checkpoints/latest_checkpointed_iteration.txt" ]; then
  BIN="$BIN" OUT="$exp" SEEDS="$seed" MODES=none Launch/motab-experiment.sh
fi
mkdir -p "$out"
fam=(); for f in $families; do fam+=(--family "$f"); done
"$BIN" motab-premise --teacher "$teacher/checkpoints" --student "$student/checkpoints" "${fam[@]}" \
  --prompts "$prompts" --seed "$seed" --output "$out/premise" | tee "$out/premise.txt"
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib
python3 Launch/motab_premise_plot.py "$out/premise.jsonl" "$out/motab-premise.png"
