#!/usr/bin/env bash
# Mutation fuzzing of every file format ispo-cluster reads (checkpoints, GGUF,
# safetensors, tokenizer.json, YAML configs, JSONL data) against the release
# binary: counts crashes, hangs, silent acceptances and clean errors per
# format (Launch/fuzz.py explains each). Exits 1 on any crash, hang, silent
# acceptance or raw NSError dump; failing cases are kept with a REPRODUCE.txt.
#
#   N=20 Launch/fuzz.sh            short run (20 mutations per format), for the test command
#   N=2000 JOBS=2 Launch/fuzz.sh   long run
# Environment: N (mutations per format, 20), SEED (1), JOBS (parallel cases, 2),
# FORMATS (comma list, all), TIMEOUT (seconds per case, 30), FUZZ_DIR (work
# directory, a new one under /tmp), BUILD=0 to use the existing binary, BIN (the
# binary, .build/release/ispo-cluster),
# FUZZ_KINDS=1 to print the outcome of each mutation kind.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/ispo-cluster}
if [[ "${BUILD:-1}" != 0 || ! -x $BIN ]]; then
  echo "[fuzz] swift build -c release"
  log=$(mktemp)
  swift build -c release --product ispo-cluster >"$log" 2>&1 || { tail -30 "$log"; rm -f "$log"; exit 1; }
  tail -1 "$log"; rm -f "$log"
fi
args=(--bin "$BIN" --n "${N:-20}" --seed "${SEED:-1}" --jobs "${JOBS:-2}" --timeout "${TIMEOUT:-30}")
[[ -n "${FORMATS:-}" ]] && args+=(--formats "$FORMATS")
[[ -n "${FUZZ_DIR:-}" ]] && args+=(--work "$FUZZ_DIR")
exec python3 Launch/fuzz.py "${args[@]}"
