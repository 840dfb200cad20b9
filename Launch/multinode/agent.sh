#!/usr/bin/env bash
# OpenMPI rsh agent for the emulated nodes of Launch/test-multinode.sh
# (`mpirun --mca plm_rsh_agent Launch/multinode/agent.sh --host mn-a:4,mn-b:4 ...`).
# Called like ssh: agent.sh HOST COMMAND...; it runs COMMAND with /bin/sh inside
# HOST's network, UTS and mount namespaces (its address, hostname and private /tmp),
# entered through the node's holder process, whose pid is in $ISPO_MN_DIR/nodes/HOST.pid.
# The environment passes through (as ssh with SendEnv would), so mpirun's variables reach orted.
set -euo pipefail
host=$1; shift
pidfile="${ISPO_MN_DIR:?ISPO_MN_DIR is not set: use this agent from Launch/test-multinode.sh}/nodes/$host.pid"
[[ -r "$pidfile" ]] || { echo "agent.sh: no emulated node '$host' ($pidfile missing)" >&2; exit 255; }
exec nsenter --target "$(cat "$pidfile")" --net --uts --mount -- /bin/sh -c "$*"
