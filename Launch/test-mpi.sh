#!/usr/bin/env bash
# Multi-process checks of the Comm target over real MPI (OpenMPI's mpirun):
#  1. `selftest-comm` on 4 and 3 ranks: every collective, split, send/receive, against
#     closed-form results on every rank;
#  2. fault injection: one rank's input is corrupted -> the job must exit non-zero;
#  3. a rank SIGKILLs itself while the others sit in an allreduce loop -> the job must
#     end non-zero within a bounded time instead of hanging.
# Assumes the release binary is built (swift build -c release); BIN=... overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.build/release/ispo-cluster}
[[ -x "$BIN" ]] || { echo "[mpi] $BIN not found: build it first (swift build -c release)"; exit 1; }
DEAD_RANK_BOUND=${DEAD_RANK_BOUND:-60}   # seconds the dead-rank job may take to end

# Oversubscribed ranks on few cores: yield when idle, one BLAS thread per rank.
# orte_abort_on_non_zero_status is already OpenMPI 4.1's default (a rank dying or exiting
# non-zero aborts the job); it is pinned here so a site mca-params.conf cannot disable it.
MPIRUN=(mpirun --oversubscribe --mca orte_abort_on_non_zero_status 1
        -x OMPI_MCA_mpi_yield_when_idle=1 -x OPENBLAS_NUM_THREADS=1)
[[ "$(id -u)" == 0 ]] && MPIRUN+=(--allow-run-as-root)

passed=0 failed=0
pass() { echo "[mpi] PASS $1"; passed=$((passed + 1)); }
fail() { echo "[mpi] FAIL $1"; failed=$((failed + 1)); }
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for n in 4 3; do
  echo "[mpi] selftest-comm on $n ranks"
  rc=0; out=$(timeout -k 5 300 "${MPIRUN[@]}" -n "$n" "$BIN" selftest-comm 2>&1) || rc=$?
  echo "$out" | grep "^selftest-comm" | sort || true
  lines=$(echo "$out" | grep -c "checks passed$" || true)
  if [[ $rc == 0 && $lines == "$n" ]]; then pass "selftest-comm -n $n"
  else fail "selftest-comm -n $n (exit $rc, $lines of $n ranks passed)"; echo "$out" | tail -20; fi
done

echo "[mpi] fault injection: rank 2 corrupts its allreduce input (the job must fail)"
rc=0; out=$(timeout -k 5 300 "${MPIRUN[@]}" -n 4 "$BIN" selftest-comm --corrupt-rank 2 2>&1) || rc=$?
mismatches=$(echo "$out" | grep -c "MISMATCH" || true)
echo "$out" | grep -m 2 "MISMATCH" || true
if [[ $rc != 0 && $rc != 124 && $mismatches -gt 0 ]]; then pass "corrupted input detected (exit $rc, $mismatches mismatch lines)"
else fail "corrupted input not reported (exit $rc, $mismatches mismatch lines)"; echo "$out" | tail -20; fi

echo "[mpi] dead rank: rank 1 SIGKILLs itself after 2 s while all ranks loop in allreduce"
start=$(now)
rc=0; out=$(timeout -k 5 "$DEAD_RANK_BOUND" "${MPIRUN[@]}" -n 4 "$BIN" selftest-comm --die-rank 1 --die-after-seconds 2 2>&1) || rc=$?
elapsed=$(seconds_since "$start")
echo "$out" | grep -E "SIGKILL|exited on signal|aborted" || true
echo "[mpi] dead-rank job ended with exit code $rc after $elapsed s (bound $DEAD_RANK_BOUND s)"
hung=$(awk -v e="$elapsed" -v b="$DEAD_RANK_BOUND" 'BEGIN { print (e >= b) ? 1 : 0 }')
if [[ $rc == 124 || $hung == 1 ]]; then   # timeout's TERM (124) or its KILL at the bound
  fail "dead rank: job hung until the $DEAD_RANK_BOUND s timeout"
elif [[ $rc == 0 ]]; then
  fail "dead rank: job exited 0"
else
  pass "dead rank ends the job non-zero in $elapsed s"
fi

echo "[mpi] the cluster job on 4 real processes (1 learner, 3 rollout): SFT warm start, 2 GRPO steps, evaluation"
run_dir=runs/test-mpi-job; rm -rf "$run_dir"
rc=0; out=$(timeout -k 5 600 "${MPIRUN[@]}" -n 4 "$BIN" run --sft-steps 20 trainer.total_steps=2 trainer.test_freq=2 \
  trainer.experiment_name=test-mpi-job data.val_batch_size=16 2>&1) || rc=$?
echo "$out" | grep -E "^ispo-cluster:|final report|val-core" || true
steps=$(grep -c '"actor/pg_loss"' "$run_dir/metrics.jsonl" 2>/dev/null || true)
if [[ $rc == 0 && $steps == 2 && -f "$run_dir/rollouts/2.jsonl" ]]; then pass "mpirun -n 4 cluster job (2 RL steps logged)"
else fail "mpirun -n 4 cluster job (exit $rc, $steps RL steps logged)"; echo "$out" | tail -20; fi

echo "[mpi] a rank that fails with an error aborts the job instead of hanging (bad dataset on every rank)"
start=$(now)
rc=0; out=$(timeout -k 5 "$DEAD_RANK_BOUND" "${MPIRUN[@]}" -n 4 "$BIN" run "data.train_files=[synthetic:nosuch:3]" 2>&1) || rc=$?
elapsed=$(seconds_since "$start")
if [[ $rc != 0 && $rc != 124 ]] && echo "$out" | grep -q "unknown synthetic family"; then pass "config error ends the job non-zero in $elapsed s with the message"
else fail "config error (exit $rc after $elapsed s)"; echo "$out" | tail -10; fi

echo "mpi tests: $passed passed, $failed failed"
[[ $failed == 0 ]]
