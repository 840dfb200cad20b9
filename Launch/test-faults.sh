#!/usr/bin/env bash
# Fault tests of checkpointing on real MPI processes (OpenMPI's mpirun):
#  1. kill -9 of a rollout rank mid-run: the job ends non-zero within DEAD_RANK_BOUND s,
#     the last complete checkpoint verifies (`ispo-cluster inspect`), the rerun resumes
#     from it and ends on the uninterrupted run's final parameters (shard CRCs equal);
#  2. kill -9 of a (non-leader) learner of a 2-learner job: same, and the rerun on a
#     1-learner layout reshards the ZeRO-1 moments;
#  3. SIGUSR1 to mpirun: the job checkpoints at the end of its step and exits 75; then
#     kill -9 during a checkpoint write (ISPO_TEST_CHECKPOINT_DELAY holds the leader
#     between the shard writes and the commit): the previous checkpoint still loads,
#     the partial tmp_ directory is ignored and removed, the rerun resumes;
#  4. full disk (a small tmpfs holds the checkpoints): a clear "No space left" error,
#     exit non-zero, the previous checkpoint intact and no partial directory left.
#     Needs mount(2) (root); otherwise the check is SKIPPED with the reason.
#  5. kill -STOP of a rollout rank with trainer.step_timeout_s=10: the waiting ranks use
#     little CPU, the job ends non-zero within FROZEN_BOUND s with one message naming the
#     stopped rank and its host, the last checkpoint verifies;
#  6. run lock: a second job on the same run directory is refused naming the holder;
#     a lock left by a dead process is taken over; a clean end removes the lock;
#  7. SIGTERM to every rank (what Slurm's scancel and preemption do): checkpoint at the
#     end of the step, exit 75, the rerun resumes;
#  8. SIGINT to every rank: checkpoint, exit 130; a second SIGINT during a checkpoint
#     write exits at once and the rerun removes the tmp_ directory; a signal whose step
#     overruns trainer.signal_grace_s exits 76 without a new checkpoint.
# CASES="5 7" runs only those cases (default: all). Last line: "fault tests: P passed,
# F failed, S skipped". BIN=... overrides the binary.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/ispo-cluster}
[[ -x "$BIN" ]] || { echo "[faults] $BIN not found: build it first (swift build -c release)"; echo "fault tests: 0 passed, 1 failed, 0 skipped"; exit 1; }
DEAD_RANK_BOUND=${DEAD_RANK_BOUND:-60}   # seconds a job with a dead rank may take to end
FROZEN_BOUND=${FROZEN_BOUND:-25}         # seconds a job with a stopped rank may take to end (step_timeout_s=10)
CASES=${CASES:-1 2 3 4 5 6 7 8}
want() { [[ " $CASES " == *" $1 "* ]]; }
JOB_BOUND=${JOB_BOUND:-300}              # seconds any job may take at all
MPIRUN=(mpirun --oversubscribe --mca orte_abort_on_non_zero_status 1
        -x OMPI_MCA_mpi_yield_when_idle=1 -x OPENBLAS_NUM_THREADS=1)
[[ "$(id -u)" == 0 ]] && MPIRUN+=(--allow-run-as-root)
T=$(mktemp -d /tmp/ispo-faults.XXXXXX)
mounted=""
job_pid=""
cleanup() {
  [[ -n "$job_pid" ]] && kill_tree "$job_pid"
  [[ -n "$mounted" ]] && umount "$mounted" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

passed=0 failed=0 skipped=0
pass() { echo "[faults] PASS $1"; passed=$((passed + 1)); }
fail() { echo "[faults] FAIL $1"; failed=$((failed + 1)); }
skip() { echo "[faults] SKIP $1"; skipped=$((skipped + 1)); }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# A tiny RL job: 1 rollout batch of 4 prompts × 4 samples per step.
JOB=(run trainer.pipeline=rl trainer.val_before_train=false trainer.test_freq=-1 trainer.dump_rollouts=false
     data.train_batch_size=4 data.val_batch_size=4 rollout.n=4 actor.ppo_mini_batch_size=4 actor.ppo_micro_batch_size_per_gpu=8 actor.optim.lr=3e-3
     model.tiny.dim=32 model.tiny.layers=2 model.tiny.ffn_dim=64 checkpoint.save_freq=2)

kill_tree() {  # the job (mpirun) and its rank processes, by pid
  local kids; kids=$(pgrep -P "$1" 2>/dev/null || true)
  kill -9 "$1" $kids 2>/dev/null || true
}
# start N NAME ARGS...: mpirun in the background, output in $T/NAME.log.
# PACE=S: the leader holds each checkpoint S seconds before committing it. A
# quiet machine runs the whole 12-step job in about a second, faster than the
# polling below can see a checkpoint appear; pacing makes "after global_step_N,
# before the job ends" a window of seconds instead of a race.
start() {
  local n=$1 name=$2; shift 2
  "${MPIRUN[@]}" -x ISPO_TEST_CHECKPOINT_DELAY="${PACE:-0}" -n "$n" "$BIN" "${JOB[@]}" trainer.experiment_name="$name" "$@" \
    >"$T/$name.log" 2>&1 &
  job_pid=$!
}
# finish [BOUND]: waits for the job (killing it at the bound); sets rc (124 = bound hit).
finish() {
  local bound=${1:-$JOB_BOUND} start_t; start_t=$(now)
  while kill -0 "$job_pid" 2>/dev/null; do
    if awk -v e="$(since "$start_t")" -v b="$bound" 'BEGIN { exit !(e >= b) }'; then kill_tree "$job_pid"; wait "$job_pid" 2>/dev/null; rc=124; job_pid=""; return; fi
    sleep 0.2
  done
  wait "$job_pid"; rc=$?; job_pid=""
}
# run_job N NAME ARGS...: start + finish; the log is $T/NAME.log.
run_job() { start "$@"; finish; }
# rank_pid R: the pid of MPI rank R of the running job.
rank_pid() {
  local p
  for p in $(pgrep -P "$job_pid"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo "$p"; return; }
  done
}
wait_for() {  # wait_for FILE SECONDS
  for _ in $(seq $(($2 * 5))); do [[ -e "$1" ]] && return 0; kill -0 "$job_pid" 2>/dev/null || return 1; sleep 0.2; done; return 1
}
latest_step() { "$BIN" inspect "runs/$1" 2>/dev/null | sed -nE 's/.*format .* step ([0-9]+),.*/\1/p' | head -1; }
# model_crcs RUN STEP: the CRC-32C of every model and optim tensor of a checkpoint, concatenated.
model_crcs() {
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join(t["crc32c"].__str__() for s in m["shards"] if s["group"] in ("model","optim") for t in s["tensors"]))' \
    "runs/$1/checkpoints/global_step_$2/manifest.json" 2>/dev/null
}

# kill_test NAME N RANK ROLE RESUME_N [ARGS]: kill -9 rank RANK after global_step_4, then checks.
kill_test() {
  local name=$1 n=$2 rank=$3 role=$4 resume_n=$5; shift 5
  rm -rf "runs/$name"
  PACE=1 start "$n" "$name" trainer.total_steps=12 "$@"
  if ! wait_for "runs/$name/checkpoints/global_step_4/DONE" "$JOB_BOUND"; then
    fail "$role kill: the job never reached global_step_4"; tail -15 "$T/$name.log"; finish 5; return
  fi
  local pid; pid=$(rank_pid "$rank")
  [[ -n "$pid" ]] || { fail "$role kill: rank $rank not found"; finish 5; return; }
  local t0; t0=$(now)
  kill -9 "$pid"
  finish "$DEAD_RANK_BOUND"
  local elapsed; elapsed=$(since "$t0")
  if [[ $rc != 0 && $rc != 124 ]]; then pass "$role kill (rank $rank): job exited $rc in $elapsed s (bound $DEAD_RANK_BOUND s)"
  else fail "$role kill (rank $rank): exit $rc after $elapsed s"; tail -10 "$T/$name.log"; fi
  local k; k=$(latest_step "$name")
  if [[ -n "$k" ]] && "$BIN" inspect "runs/$name" >"$T/$name.inspect" 2>&1 && grep -q "^OK" "$T/$name.inspect"; then
    pass "$role kill: the latest checkpoint global_step_$k verifies (inspect OK)"
  else fail "$role kill: no verified checkpoint after the kill"; tail -10 "$T/$name.inspect"; return; fi
  mv "$T/$name.log" "$T/$name-killed.log"
  run_job "$resume_n" "$name" trainer.total_steps=12 "${RESUME_ARGS[@]}"
  local steps; steps=$(sed -nE 's/^\{"step":([0-9]+),.*"actor\/pg_loss".*/\1/p' "runs/$name/metrics.jsonl" | sort -n | tail -1)
  if [[ $rc == 0 ]] && grep -q "resumed from .*global_step_$k at step $k" "$T/$name.log" && [[ $steps == 12 ]]; then
    pass "$role kill: rerun resumed from global_step_$k and finished step 12 $(grep -o '(resharded[^)]*)' "$T/$name.log")"
  else fail "$role kill: rerun (exit $rc, last step ${steps:-none})"; tail -15 "$T/$name.log"; fi
}

if want 1; then
echo "[faults] uninterrupted reference run (3 ranks, 12 steps)"
t_ref=$(now)
rm -rf runs/fault-ref; run_job 3 fault-ref trainer.total_steps=12
echo "[faults] reference run: exit $rc in $(since "$t_ref") s"
[[ $rc == 0 ]] || { tail -5 "$T/fault-ref.log"; fail "the uninterrupted reference run failed"; }

echo "[faults] 1. kill -9 of a rollout rank (rank 2 of 1 learner + 2 rollout)"
RESUME_ARGS=()   # the rerun's extra arguments (none: same derived layout)
kill_test fault-rollout 3 2 rollout 3
ref=$(model_crcs fault-ref 12); got=$(model_crcs fault-rollout 12)
if [[ -n "$ref" && "$ref" == "$got" ]]; then pass "rollout kill: resumed run's step-12 parameters and moments equal the uninterrupted run's (all tensor CRCs)"
else fail "rollout kill: step-12 checkpoint differs from the uninterrupted run (CRCs '${got:0:60}' vs '${ref:0:60}')"; fi
fi

if want 2; then
echo "[faults] 2. kill -9 of a learner (rank 1 of 2 learners + 1 rollout); rerun on 1 learner + 2 rollout"
printf 'ranks:\n  - learner\n  - learner\n  - rollout\n' >"$T/two-learners.yaml"
RESUME_ARGS=()   # the rerun uses the derived layout (1 learner): the moments are resharded
kill_test fault-learner 3 1 learner 3 cluster.layout="$T/two-learners.yaml"
fi

if want 3; then
echo "[faults] 3. SIGUSR1 to mpirun, then kill -9 during a checkpoint write"
name=fault-write; rm -rf "runs/$name"
PACE=1 start 3 "$name" trainer.total_steps=12
if wait_for "runs/$name/checkpoints/global_step_2/DONE" "$JOB_BOUND"; then
  t0=$(now); kill -USR1 "$job_pid"; finish 60
  line=$(grep -m1 "stopped on request" "$T/$name.log")
  k=$(echo "$line" | sed -nE 's/.*after step ([0-9]+).*/\1/p')
  if [[ $rc == 75 && -n "$k" && -f "runs/$name/checkpoints/global_step_$k/DONE" ]]; then
    pass "SIGUSR1: checkpointed global_step_$k and exited 75 in $(since "$t0") s"
  else fail "SIGUSR1: exit $rc, stop line '$line'"; tail -10 "$T/$name.log"; fi
else fail "SIGUSR1: the job never reached global_step_2"; finish 5; k=""; fi
if [[ -n "${k:-}" ]]; then
  mv "$T/$name.log" "$T/$name-usr1.log"
  "${MPIRUN[@]}" -x ISPO_TEST_CHECKPOINT_DELAY=60 -n 3 "$BIN" "${JOB[@]}" trainer.experiment_name="$name" trainer.total_steps=12 \
    >"$T/$name.log" 2>&1 &
  job_pid=$!
  for _ in $(seq $((JOB_BOUND * 5))); do grep -q "test hook: waiting" "$T/$name.log" && break; kill -0 "$job_pid" 2>/dev/null || break; sleep 0.2; done
  m=$(sed -nE 's/.*before committing step ([0-9]+).*/\1/p' "$T/$name.log" | head -1)
  kill -9 "$(rank_pid 0)"; finish "$DEAD_RANK_BOUND"
  partial=$(ls "runs/$name/checkpoints/tmp_global_step_$m" 2>/dev/null | tr '\n' ' ')
  "$BIN" inspect "runs/$name" >"$T/$name.inspect" 2>&1; irc=$?
  if [[ -n "$m" && $rc != 0 && -n "$partial" && $irc == 0 ]] && grep -q "ignored tmp_global_step_$m" "$T/$name.inspect" \
     && grep -q "step $k," "$T/$name.inspect"; then
    pass "kill during the write of step $m: tmp_global_step_$m ($partial) ignored, global_step_$k verifies"
  else fail "kill during write: step '${m}', exit $rc, partial '$partial', inspect exit $irc"; tail -8 "$T/$name.inspect"; fi
  mv "$T/$name.log" "$T/$name-killed.log"
  run_job 3 "$name" trainer.total_steps=12
  if [[ $rc == 0 ]] && grep -q "removed unfinished checkpoint directories tmp_global_step_$m" "$T/$name.log" \
     && grep -q "resumed from .*global_step_$k at step $k" "$T/$name.log"; then
    pass "rerun removed tmp_global_step_$m, resumed from global_step_$k and finished"
  else fail "rerun after the killed write (exit $rc)"; tail -10 "$T/$name.log"; fi
fi
fi

if want 4; then
echo "[faults] 4. full disk: the checkpoints directory on a small tmpfs"
name=fault-disk; rm -rf "runs/$name"; mkdir -p "runs/$name" "$T/small"
if mount -t tmpfs -o size=8m tmpfs "$T/small" 2>"$T/mount.err"; then
  mounted="$T/small"
  mkdir -p "$T/small/checkpoints"; ln -s "$T/small/checkpoints" "runs/$name/checkpoints"
  run_job 2 "$name" trainer.total_steps=2
  if [[ $rc == 0 && -f "runs/$name/checkpoints/global_step_2/DONE" ]]; then
    size=$(du -sk "runs/$name/checkpoints/global_step_2/" | cut -f1)
    # Fill the file system, then free less than one checkpoint needs.
    dd if=/dev/zero of="$T/small/filler" bs=64k 2>/dev/null
    free_kb=$(( size / 3 ))
    truncate -s "-${free_kb}K" "$T/small/filler"
    echo "[faults] a checkpoint takes ${size} KiB; ${free_kb} KiB left free"
    run_job 2 "$name" trainer.total_steps=4
    msg=$(grep -m1 "not saved" "$T/$name.log")
    leftovers=$(ls "runs/$name/checkpoints/" | grep tmp_ || true)
    if [[ $rc != 0 && $rc != 124 ]] && echo "$msg" | grep -q "No space left" && [[ -z "$leftovers" ]] \
       && "$BIN" inspect "runs/$name/checkpoints/global_step_2" >/dev/null 2>&1 && [[ ! -e "runs/$name/checkpoints/global_step_4" ]]; then
      pass "full disk: exit $rc; global_step_2 verifies, no partial directory; message: $msg"
    else fail "full disk: exit $rc, message '$msg', leftovers '$leftovers'"; tail -8 "$T/$name.log"; fi
  else fail "full disk: the first run could not save global_step_2 (exit $rc)"; tail -8 "$T/$name.log"; fi
  rm -f "runs/$name/checkpoints"
else
  skip "full disk: cannot mount a tmpfs here ($(head -1 "$T/mount.err")); needs root with mount permission"
fi
fi

# cpu_ticks PID: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# signal_ranks SIG: SIG to every rank process of the running job (as Slurm's scancel
# and preemption do; mpirun itself turns SIGTERM/SIGINT into SIGKILL after 1 s).
signal_ranks() { local p; for p in $(pgrep -P "$job_pid"); do kill "-$1" "$p" 2>/dev/null; done; }

if want 5; then
echo "[faults] 5. kill -STOP of a rollout rank (rank 2 of 3) with trainer.step_timeout_s=10"
name=fault-frozen; rm -rf "runs/$name"
PACE=1 start 3 "$name" trainer.total_steps=40 trainer.step_timeout_s=10
if wait_for "runs/$name/checkpoints/global_step_4/DONE" "$JOB_BOUND"; then
  pid=$(rank_pid 2); waiting=$(rank_pid 0)" "$(rank_pid 1)
  t0=$(now); kill -STOP "$pid"
  sleep 1; declare -A before; for p in $waiting; do before[$p]=$(cpu_ticks "$p"); done
  sleep 4; cpu=""; cpu_ok=1
  for p in $waiting; do
    pct=$(( ($(cpu_ticks "$p") - ${before[$p]}) * 100 / $(getconf CLK_TCK) / 4 )); cpu+="${pct}% "
    (( pct < 20 )) || cpu_ok=0
  done
  if [[ $cpu_ok == 1 ]]; then pass "frozen rank: the waiting ranks 0 and 1 used ${cpu}CPU over 4 s before the deadline"
  else fail "frozen rank: waiting ranks spin (${cpu}CPU over 4 s)"; fi
  finish "$FROZEN_BOUND"; elapsed=$(since "$t0")
  kill -CONT "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null
  msg=$(grep -m1 "expected every rank to reach" "$T/$name.log")
  if [[ $rc != 0 && $rc != 124 ]] && echo "$msg" | grep -q "no answer from rank 2 (host $(hostname))" \
     && [[ $(grep -c "expected every rank to reach" "$T/$name.log") == 1 ]]; then
    pass "frozen rank: job exited $rc in $elapsed s (bound $FROZEN_BOUND s) with one message: ${msg:0:160}…"
  else fail "frozen rank: exit $rc after $elapsed s, message '$msg'"; tail -10 "$T/$name.log"; fi
  if "$BIN" inspect "runs/$name" >"$T/$name.inspect" 2>&1 && grep -q "^OK" "$T/$name.inspect"; then
    pass "frozen rank: the latest checkpoint global_step_$(latest_step "$name") verifies (inspect OK)"
  else fail "frozen rank: no verified checkpoint"; tail -5 "$T/$name.inspect"; fi
else fail "frozen rank: the job never reached global_step_4"; finish 5; fi
fi

if want 6; then
echo "[faults] 6. run lock: one job per run directory"
name=fault-lock; rm -rf "runs/$name"
PACE=1 start 3 "$name" trainer.total_steps=12
first=$job_pid
if wait_for "runs/$name/run.lock" "$JOB_BOUND"; then
  holder=$(cat "runs/$name/run.lock")
  hpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "runs/$name/run.lock")
  "${MPIRUN[@]}" -n 2 "$BIN" "${JOB[@]}" trainer.experiment_name="$name" trainer.total_steps=12 >"$T/$name-second.log" 2>&1; rc2=$?
  if [[ $rc2 != 0 ]] && grep -q "is in use by another job (host $(hostname), pid $hpid, started" "$T/$name-second.log"; then
    pass "run lock: a second job on runs/$name exited $rc2: $(grep -m1 -o 'is in use by another job ([^)]*)' "$T/$name-second.log")"
  else fail "run lock: second job exit $rc2 (holder $holder)"; tail -5 "$T/$name-second.log"; fi
  finish
  if [[ $rc == 0 && ! -e "runs/$name/run.lock" ]]; then pass "run lock: the first job finished and removed runs/$name/run.lock"
  else fail "run lock: first job exit $rc, lock left: $(cat "runs/$name/run.lock" 2>/dev/null)"; fi
else fail "run lock: the first job never created runs/$name/run.lock"; finish 5; fi
sleep 0 & dead=$!; wait $dead
printf '{"host":"%s","pid":%d,"started":"2026-01-01T00:00:00Z"}\n' "$(hostname)" "$dead" >"runs/$name/run.lock"
run_job 2 "$name" trainer.total_steps=14
if [[ $rc == 0 ]] && grep -q "taking over the run lock .*pid $dead.*no process $dead on this host" "$T/$name.log" && [[ ! -e "runs/$name/run.lock" ]]; then
  pass "run lock: a lock of dead pid $dead was taken over, the job finished and removed it"
else fail "run lock: stale lock (exit $rc)"; tail -5 "$T/$name.log"; fi
fi

# signal_test SIG CODE: SIG to every rank after global_step_2; expects a checkpoint and exit CODE, then a resuming rerun.
signal_test() {
  local sig=$1 code=$2 name=fault-$(echo "$1" | tr A-Z a-z)
  rm -rf "runs/$name"
  PACE=1 start 3 "$name" trainer.total_steps=12
  if ! wait_for "runs/$name/checkpoints/global_step_2/DONE" "$JOB_BOUND"; then fail "SIG$sig: never reached global_step_2"; finish 5; return; fi
  local t0; t0=$(now); signal_ranks "$sig"; finish 60
  local line k; line=$(grep -m1 "stopped on request (SIG$sig)" "$T/$name.log"); k=$(echo "$line" | sed -nE 's/.*after step ([0-9]+).*/\1/p')
  if [[ $rc == "$code" && -n "$k" && -f "runs/$name/checkpoints/global_step_$k/DONE" && ! -e "runs/$name/run.lock" ]]; then
    pass "SIG$sig to every rank: checkpointed global_step_$k and exited $rc in $(since "$t0") s, run.lock removed"
  else fail "SIG$sig: exit $rc (expected $code), stop line '$line'"; tail -10 "$T/$name.log"; return; fi
  mv "$T/$name.log" "$T/$name-signalled.log"
  run_job 3 "$name" trainer.total_steps=12
  if [[ $rc == 0 ]] && grep -q "resumed from .*global_step_$k at step $k" "$T/$name.log"; then
    pass "SIG$sig: the rerun resumed from global_step_$k and finished"
  else fail "SIG$sig: rerun exit $rc"; tail -8 "$T/$name.log"; fi
}

if want 7; then
echo "[faults] 7. SIGTERM to every rank"
signal_test TERM 75
fi

if want 8; then
echo "[faults] 8. SIGINT to every rank; a second SIGINT during a write; a step overrunning the grace time"
signal_test INT 130
name=fault-int2; rm -rf "runs/$name"
"${MPIRUN[@]}" -x ISPO_TEST_CHECKPOINT_DELAY=60 -n 3 "$BIN" "${JOB[@]}" trainer.experiment_name="$name" trainer.total_steps=12 \
  >"$T/$name.log" 2>&1 &
job_pid=$!
for _ in $(seq $((JOB_BOUND * 5))); do grep -q "test hook: waiting" "$T/$name.log" && break; kill -0 "$job_pid" 2>/dev/null || break; sleep 0.2; done
m=$(sed -nE 's/.*before committing step ([0-9]+).*/\1/p' "$T/$name.log" | head -1)
t0=$(now); signal_ranks INT; sleep 0.5; signal_ranks INT; finish 10; elapsed=$(since "$t0")
if [[ -n "$m" && $rc != 0 && $rc != 124 && -d "runs/$name/checkpoints/tmp_global_step_$m" ]]; then
  pass "second SIGINT during the write of step $m: exit $rc after $elapsed s, tmp_global_step_$m left"
else fail "second SIGINT: step '$m', exit $rc after $elapsed s"; tail -5 "$T/$name.log"; fi
mv "$T/$name.log" "$T/$name-killed.log"
run_job 3 "$name" trainer.total_steps=4
left=$(ls "runs/$name/checkpoints" | grep tmp_ || true)
if [[ $rc == 0 && -z "$left" ]] && grep -q "removed unfinished checkpoint directories tmp_global_step_$m" "$T/$name.log"; then
  pass "SIGINT: the rerun removed tmp_global_step_$m and finished; no tmp_ left"
else fail "SIGINT rerun: exit $rc, left '$left'"; tail -5 "$T/$name.log"; fi
name=fault-grace; rm -rf "runs/$name"
PACE=6 start 3 "$name" trainer.total_steps=12 trainer.signal_grace_s=2
for _ in $(seq $((JOB_BOUND * 5))); do grep -q "test hook: waiting" "$T/$name.log" && break; kill -0 "$job_pid" 2>/dev/null || break; sleep 0.2; done
t0=$(now); signal_ranks TERM; finish 30; elapsed=$(since "$t0")
if [[ $rc == 76 ]] && grep -q "did not end within trainer.signal_grace_s=2" "$T/$name.log" && [[ ! -e "runs/$name/checkpoints/global_step_2" ]]; then
  pass "SIGTERM with a step overrunning trainer.signal_grace_s=2: exit 76 after $elapsed s, no new checkpoint"
else fail "grace overrun: exit $rc after $elapsed s"; tail -5 "$T/$name.log"; fi
fi

echo "fault tests: $passed passed, $failed failed, $skipped skipped"
[[ $failed == 0 ]]
