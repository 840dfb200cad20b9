#!/usr/bin/env bash
# The sbatch scripts of Launch/slurm/ on a private one-node Slurm cluster:
#  - installs slurm-wlm and munge with apt-get when missing (if that is impossible:
#    prints SKIP and the reason, and the summary line counts the checks as skipped);
#  - starts munged, slurmctld and slurmd from a temporary directory with their own
#    slurm.conf (SLURM_CONF), socket and ports; stops only those daemons on exit;
#  - runs demo.sbatch, sft.sbatch, eval.sbatch and rl.sbatch with small configs
#    and checks their outputs;
#  - sends USR1 to a running rl job (`scancel --signal=USR1 --batch`): the job must
#    checkpoint and stop, requeue itself, and the requeued job must resume from
#    that checkpoint and finish.
# Last line: "slurm tests: P passed, F failed, S skipped". BIN=... overrides the binary.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BIN:-.build/release/ispo-cluster}
JOB_TIMEOUT=${JOB_TIMEOUT:-240}   # seconds any one job may take
passed=0 failed=0 skipped=0
pass() { echo "[slurm] PASS $1"; passed=$((passed + 1)); }
fail() { echo "[slurm] FAIL $1"; failed=$((failed + 1)); }
summary() { echo "slurm tests: $passed passed, $failed failed, $skipped skipped"; }
CHECKS=6   # the checks below, all counted as skipped when Slurm cannot run here
skip_all() {
  echo "[slurm] SKIP: $1"
  skipped=$CHECKS; summary; exit 0
}

[[ -x "$BIN" ]] || { echo "[slurm] $BIN not found: build it first (swift build -c release)"; fail "binary"; summary; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  echo "[slurm] installing slurm-wlm and munge"
  SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo -n"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge; } >/tmp/ispo-slurm-apt.log 2>&1; then
    skip_all "cannot install slurm-wlm/munge with apt-get (log: /tmp/ispo-slurm-apt.log)"
  fi
fi
[[ -e /usr/lib/x86_64-linux-gnu/slurm-wlm/mpi_pmix.so || -n "$(ls /usr/lib/*/slurm*/mpi_pmix*.so 2>/dev/null)" ]] \
  || skip_all "Slurm has no mpi_pmix plugin (Debian's OpenMPI needs srun --mpi=pmix)"
[[ "$(id -u)" == 0 ]] || skip_all "the private slurmd must run as root here (SlurmUser=root); run as root"

T=$(mktemp -d /tmp/ispo-slurm.XXXXXX)
chmod 755 "$T"   # o+x: munge clients and job steps must reach the socket directory
pids=()
cleanup() {
  # Only the daemons this script started, by pid.
  [[ -n "${SLURM_CONF:-}" ]] && scancel --quiet --user=root 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  [[ "${KEEP_SLURM_DIR:-0}" == 1 ]] && echo "[slurm] kept $T" || rm -rf "$T"
}
trap cleanup EXIT

# munge with its own key and socket.
head -c 1024 /dev/urandom > "$T/munge.key"; chmod 400 "$T/munge.key"
munged --foreground --force --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munged.seed" 2>"$T/munged.err" &
pids+=($!)
for _ in $(seq 50); do [[ -S "$T/munge.sock" ]] && break; sleep 0.1; done
[[ -S "$T/munge.sock" ]] || { cat "$T/munged.err" "$T/munged.log" 2>/dev/null | tail -5; skip_all "munged did not start (see above)"; }

# Free ports for slurmctld and slurmd.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=$((20000 + RANDOM % 20000))
while ! port_free $base || ! port_free $((base + 1)); do base=$((base + 2)); done

mkdir -p "$T/state" "$T/spool" "$T/out"
export SLURM_CONF="$T/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=ispotest
SlurmctldHost=localhost
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
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
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
slurmctld -D -c -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 60); do
  if sinfo -h -o "%T" 2>/dev/null | grep -qE "^idle"; then up=1; break; fi
  sleep 0.5
done
if [[ $up != 1 ]]; then
  tail -5 "$T/slurmctld.log" "$T/slurmd.log" "$T/slurmctld.out" "$T/slurmd.out" 2>/dev/null
  fail "private Slurm cluster did not come up (logs above)"; summary; exit 1
fi
echo "[slurm] private cluster up: $(sinfo -h -o '%P %D %c %T'), ports $base/$((base + 1)), $T"

# job_field ID FIELD: a field of `scontrol show job`.
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
# wait_job ID: waits for a final state (requeues included); prints it.
wait_job() {
  local s
  for _ in $(seq $((JOB_TIMEOUT * 2))); do
    s=$(job_field "$1" JobState)
    case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$s"; return;; esac
    sleep 0.5
  done
  echo "STUCK($s)"
}
# submit SCRIPT NAME ARGS...: sbatch with 2 ranks, output in $T/out; prints the job id.
submit() {
  local script=$1 name=$2; shift 2
  ISPO_BIN="$BIN" sbatch --parsable --chdir="$ROOT" --job-name="$name" --ntasks-per-node=2 --cpus-per-task=1 \
    --time=10 --output="$T/out/%x-%j.out" --export=ALL "$script" "$@"
}
small=(trainer.total_steps=2 data.train_batch_size=4 rollout.n=4 actor.ppo_mini_batch_size=4 actor.ppo_micro_batch_size_per_gpu=8 data.val_batch_size=8
       trainer.test_freq=-1 model.tiny.dim=32 model.tiny.layers=2)

check_job() {  # check_job ID NAME EXPECTED_GREP
  local id=$1 name=$2 want=$3 state out
  state=$(wait_job "$id"); out="$T/out/$name-$id.out"
  if [[ $state == COMPLETED ]] && grep -qE "$want" "$out"; then pass "$name.sbatch completed ($(grep -cE "$want" "$out") line(s) matching '$want')"
  else fail "$name.sbatch: state $state, expected COMPLETED and '$want' in $out"; tail -15 "$out" 2>/dev/null; fi
}

rm -rf runs/slurm-demo runs/slurm-sft runs/slurm-eval runs/slurm-rl
id=$(submit Launch/slurm/demo.sbatch demo --sft-steps 10 "${small[@]}" trainer.experiment_name=slurm-demo)
check_job "$id" demo "final report"
id=$(submit Launch/slurm/sft.sbatch sft --sft-steps 10 "${small[@]}" trainer.experiment_name=slurm-sft)
check_job "$id" sft "val-core"
if [[ -f runs/slurm-sft/checkpoints/global_step_0/DONE ]] && "$BIN" inspect runs/slurm-sft/checkpoints/global_step_0 >/dev/null; then
  pass "sft.sbatch left a verified global_step_0 for an rl run"
else fail "sft.sbatch left no verified runs/slurm-sft/checkpoints/global_step_0"; fi
id=$(submit Launch/slurm/eval.sbatch eval "${small[@]}" trainer.experiment_name=slurm-eval)
check_job "$id" eval "val-core"

# USR1: an rl job from the sft checkpoint, stopped after a few steps, requeued, resumed.
# The job is paced (each periodic checkpoint is held 0.3 s before its commit, the
# test hook of Durability.md): on a quiet machine 40 unpaced steps take about 3 s,
# which the polling below could miss; paced, the signal lands mid-run.
total=40
id=$(ISPO_TEST_CHECKPOINT_DELAY=0.3 submit Launch/slurm/rl.sbatch rl "${small[@]}" trainer.total_steps=$total \
  trainer.experiment_name=slurm-rl checkpoint.resume_mode="$ROOT/runs/slurm-sft/checkpoints/global_step_0" \
  checkpoint.save_freq=4)
out="$T/out/rl-$id.out"
for _ in $(seq $((JOB_TIMEOUT * 2))); do
  n=$(grep -c '"actor/pg_loss"' runs/slurm-rl/metrics.jsonl 2>/dev/null || true)
  [[ ${n:-0} -ge 3 ]] && break; sleep 0.5
done
echo "[slurm] rl job $id at step ${n:-0}: scancel --signal=USR1 --batch $id"
sent=$(date +%s.%N)
scancel --signal=USR1 --batch "$id"
# The stop: the job prints the stop line and requeues itself.
# The batch script prints "requeueing" just after ispo-cluster's stop line: wait for both.
for _ in $(seq $((JOB_TIMEOUT * 2))); do
  grep -q "stopped on request" "$out" 2>/dev/null && grep -q "requeueing" "$out" 2>/dev/null && break; sleep 0.5
done
stop_s=$(awk -v a="$sent" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
stop_line=$(grep -m1 "stopped on request" "$out")
stop_step=$(echo "$stop_line" | sed -nE 's/.*after step ([0-9]+).*/\1/p')
if [[ -n $stop_step && -f runs/slurm-rl/checkpoints/global_step_$stop_step/DONE ]] && grep -q "requeueing" "$out"; then
  pass "USR1: checkpointed global_step_$stop_step and requeued ${stop_s} s after the signal"
else fail "USR1: no stop/checkpoint/requeue (stop line: '$stop_line')"; tail -20 "$out"; fi
# The requeued job runs the same command line: resume_mode still names the sft checkpoint, but a
# run with checkpoints of its own continues from its latest (Docs/Durability.md).
# Slurm holds a requeued job for about two minutes (BeginTime); to keep the test short, release it
# as soon as the first run's step has been cleaned up (node idle again; earlier, the new step collides).
for _ in $(seq 120); do
  [[ $(job_field "$id" JobState) == PENDING ]] && sinfo -h -o "%T" | grep -qx idle && break; sleep 0.5
done
sleep 3
scontrol update JobId="$id" StartTime=now 2>/dev/null || true
state=$(wait_job "$id")
restarts=$(job_field "$id" Restarts)
steps=$(grep -c '"actor/pg_loss"' runs/slurm-rl/metrics.jsonl 2>/dev/null || true)
if [[ $state == COMPLETED && ${restarts:-0} -ge 1 ]] && grep -q "resumed from .*global_step_$stop_step at step $stop_step" "$out" \
   && [[ $steps == "$total" ]]; then
  pass "requeued job resumed from global_step_$stop_step and finished (restarts $restarts, $steps RL steps logged once each)"
else
  fail "requeued job: state $state, restarts ${restarts:-?}, $steps of $total RL steps, resume line: $(grep -m1 'resumed from' "$out")"
  tail -25 "$out"
fi
summary
[[ $failed == 0 ]]
