#!/usr/bin/env bash
# The main job on its built-in default. Sets the machine up first if needed.
#   Launch/run.sh [extra arguments for ispo-cluster]
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/setup.sh
exec .build/release/ispo-cluster "$@"
