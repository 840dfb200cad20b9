#!/usr/bin/env bash
# The whole test suite: unit and reference tests (swift test), then the
# numeric reference tests again on the BLAS kernels the binary runs with.
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/setup.sh

echo "[test] swift test (debug build, OpenBLAS's own kernel choice)"
swift test 2>&1 | tee /tmp/ispo-swift-test.log | grep -E "error|failed|passed at|Executed|\[reference\]" || true
grep -q "with 0 failures" /tmp/ispo-swift-test.log && ! grep -qE "error:|failed \(" /tmp/ispo-swift-test.log || {
  echo "[test] swift test FAILED (full log: /tmp/ispo-swift-test.log)"; exit 1; }

core=$(.build/release/ispo-cluster info --blas-core)
echo "[test] numeric reference tests again with OPENBLAS_CORETYPE=$core (the kernels ispo-cluster selects)"
OPENBLAS_CORETYPE="$core" swift test --skip-build --filter 'ReferenceModelTests|LayerTests|DecodingTests' 2>&1 \
  | tee /tmp/ispo-swift-test-kernels.log | grep -E "error|Executed .* tests" | tail -3
grep -qE "error:|failed \(" /tmp/ispo-swift-test-kernels.log && { echo "[test] FAILED with $core kernels"; exit 1; }

echo "[test] real MPI processes"
Launch/test-mpi.sh | tee /tmp/ispo-test-mpi.log

echo "[test] checkpoint fault tests (real MPI processes: kill -9, SIGUSR1, kill during a write, full disk)"
Launch/test-faults.sh | tee /tmp/ispo-test-faults.log || { echo "[test] fault tests FAILED (log: /tmp/ispo-test-faults.log)"; exit 1; }

echo "[test] fuzzing: 20 mutations of each input format against the release binary (crashes, hangs, silent acceptances fail)"
BUILD=0 N=20 Launch/fuzz.sh | tee /tmp/ispo-test-fuzz.log | tail -12 || { echo "[test] fuzz run FAILED (log: /tmp/ispo-test-fuzz.log)"; exit 1; }
grep -q "^fuzz: ok" /tmp/ispo-test-fuzz.log || { echo "[test] fuzz run FAILED (log: /tmp/ispo-test-fuzz.log)"; exit 1; }

echo "[test] Slurm: the sbatch scripts on a private one-node cluster (USR1 -> checkpoint -> requeue -> resume)"
Launch/test-slurm.sh | tee /tmp/ispo-test-slurm.log || { echo "[test] Slurm tests FAILED (log: /tmp/ispo-test-slurm.log)"; exit 1; }

echo "[test] emulated nodes: network namespaces, MPI over TCP, node loss, two-node Slurm"
Launch/test-multinode.sh | tee /tmp/ispo-test-multinode.log || { echo "[test] multi-node tests FAILED (log: /tmp/ispo-test-multinode.log)"; exit 1; }

echo "[test] single-process smoke run of the main job (release binary, every role in one process)"
.build/release/ispo-cluster run --sft-steps 20 trainer.total_steps=2 trainer.experiment_name=test-single data.val_batch_size=16 | tail -3
# XCTest's last "Executed N tests" line is the whole run's total.
unit=$(grep -E "^\s*Executed [0-9]+ tests?, with" /tmp/ispo-swift-test.log | tail -1 | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
skipped=$(grep -E "^\s*Executed [0-9]+ tests?, with" /tmp/ispo-swift-test.log | tail -1 | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p')
skipped=${skipped:-0}; skipped_xctest=$skipped
echo "[test] all passed"
mpi=$(sed -nE 's/^mpi tests: ([0-9]+) passed.*/\1/p' /tmp/ispo-test-mpi.log)
# The fault and Slurm scripts count their checks, skipped ones (with the reason) included.
count() { sed -nE "s/^$1 tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\\$2/p" "$3" | tail -1; }
faults=$(count fault 1 /tmp/ispo-test-faults.log); faults_skipped=$(count fault 3 /tmp/ispo-test-faults.log)
slurm=$(count slurm 1 /tmp/ispo-test-slurm.log); slurm_skipped=$(count slurm 3 /tmp/ispo-test-slurm.log)
multinode=$(count multinode 1 /tmp/ispo-test-multinode.log); multinode_skipped=$(count multinode 3 /tmp/ispo-test-multinode.log)
[[ -n "$faults" && -n "$slurm" && -n "$multinode" ]] || { echo "[test] a fault, Slurm or multi-node test script printed no summary line"; exit 1; }
grep -hE "^\[(faults|slurm|multinode)\] SKIP" /tmp/ispo-test-faults.log /tmp/ispo-test-slurm.log /tmp/ispo-test-multinode.log \
  | sed 's/^/[test] skipped: /' || true
skipped=$((skipped + ${faults_skipped:-0} + ${slurm_skipped:-0} + ${multinode_skipped:-0}))
echo "ispo-cluster tests: $((unit - skipped_xctest + mpi + ${faults:-0} + ${slurm:-0} + ${multinode:-0} + 2)) passed, 0 failed, $skipped skipped"   # XCTest cases + MPI, fault, Slurm and multi-node checks + the fuzz run + the smoke run
