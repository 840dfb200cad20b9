# Shared by the sbatch scripts (sourced, not run): environment, the USR1 trap
# and the requeue. Slurm sends USR1 to this batch shell (--signal=B:USR1@300,
# or `scancel --signal=USR1 --batch <job>`); the trap forwards it to the srun
# step, every rank finishes its current step, the job saves a checkpoint and
# exits with code 75, and this script requeues the job, which resumes from that
# checkpoint (checkpoint.resume_mode=auto, the default).
# SIGTERM (scancel, preemption, the time limit) is sent by Slurm to this shell
# and to every task of the step at once: the tasks checkpoint on it themselves,
# so the trap only keeps this shell alive to report the step's exit code; it
# does not forward the signal (a second signal makes a rank exit at once).
# Exit code 76: the step did not fit trainer.signal_grace_s and exited without a
# new checkpoint; the job is requeued too and resumes from the previous one.
set -uo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
source Cluster/env.sh
ISPO_BIN=${ISPO_BIN:-.build/release/ispo-cluster}
STOPPED_EXIT_CODE=75   # StopRequest.exitCode: checkpointed and stopped on request
GRACE_EXIT_CODE=76     # StopRequest.graceExceededExitCode: stopped without a new checkpoint

forward_usr1() {
  echo "[slurm] $(date +%T) USR1: asking job step $step_pid to checkpoint at the end of its step"
  kill -USR1 "$step_pid" 2>/dev/null || true
}

note_term() {
  echo "[slurm] $(date +%T) TERM: Slurm signals every task too; they checkpoint at the end of their step"
}

# run_step ARGS...: `srun --mpi=pmix ispo-cluster run ARGS...`, USR1 forwarded,
# requeue when the job stopped on request. Exits with the step's exit code.
run_step() {
  echo "[slurm] job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-?}: ${SLURM_NTASKS:-?} ranks"
  trap forward_usr1 USR1
  trap note_term TERM
  srun --mpi=pmix --kill-on-bad-exit=1 "$ISPO_BIN" run "$@" &
  step_pid=$!
  local rc
  while true; do
    wait "$step_pid"; rc=$?
    # wait returns early (> 128) when the trapped signal arrives: keep waiting for the step.
    if [[ $rc -gt 128 ]] && kill -0 "$step_pid" 2>/dev/null; then continue; fi
    break
  done
  trap - USR1 TERM
  if [[ $rc == "$STOPPED_EXIT_CODE" || $rc == "$GRACE_EXIT_CODE" ]]; then
    echo "[slurm] the job stopped on a signal (exit $rc); requeueing ${SLURM_JOB_ID:-?} (it resumes from its latest checkpoint)"
    scontrol requeue "${SLURM_JOB_ID}" && exit 0
    echo "[slurm] scontrol requeue failed: resubmit this script to continue"
  fi
  echo "[slurm] job step ended with exit code $rc"
  exit "$rc"
}
