# Shared by the sbatch scripts (sourced, not run): environment, the USR1 trap
# and the requeue. Slurm sends USR1 to this batch shell (--signal=B:USR1@300,
# or `scancel --signal=USR1 --batch <job>`); the trap forwards it to the srun
# step, every rank finishes its current step, the job saves a checkpoint and
# exits with code 75, and this script requeues the job, which resumes from that
# checkpoint (checkpoint.resume_mode=auto, the default).
set -uo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
source Cluster/env.sh
ISPO_BIN=${ISPO_BIN:-.build/release/ispo-cluster}
STOPPED_EXIT_CODE=75   # StopRequest.exitCode: checkpointed and stopped on request

forward_usr1() {
  echo "[slurm] $(date +%T) USR1: asking job step $step_pid to checkpoint at the end of its step"
  kill -USR1 "$step_pid" 2>/dev/null || true
}

# run_step ARGS...: `srun --mpi=pmix ispo-cluster run ARGS...`, USR1 forwarded,
# requeue when the job stopped on request. Exits with the step's exit code.
run_step() {
  echo "[slurm] job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-?}: ${SLURM_NTASKS:-?} ranks"
  trap forward_usr1 USR1
  srun --mpi=pmix --kill-on-bad-exit=1 "$ISPO_BIN" run "$@" &
  step_pid=$!
  local rc
  while true; do
    wait "$step_pid"; rc=$?
    # wait returns early (> 128) when the trapped signal arrives: keep waiting for the step.
    if [[ $rc -gt 128 ]] && kill -0 "$step_pid" 2>/dev/null; then continue; fi
    break
  done
  trap - USR1
  if [[ $rc == "$STOPPED_EXIT_CODE" ]]; then
    echo "[slurm] the job checkpointed and stopped; requeueing ${SLURM_JOB_ID:-?} (it resumes from the checkpoint)"
    scontrol requeue "${SLURM_JOB_ID}" && exit 0
    echo "[slurm] scontrol requeue failed: resubmit this script to continue"
  fi
  echo "[slurm] job step ended with exit code $rc"
  exit "$rc"
}
