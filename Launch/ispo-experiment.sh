#!/usr/bin/env bash
# ISPO vs GRPO on the synthetic families, identical seeds, then the table and
# plots of Docs/Results-ISPO.md. Every run: SFT warm start on the families'
# reference traces, then RL; GRPO runs compute ISPO's signals as diagnostics
# only (algorithm.ispo.diagnostics=true), so both arms log the same metrics.
#   Launch/ispo-experiment.sh      # 3 seeds × {grpo, ispo} × {std-normalised, Dr.GRPO advantages}, 8 ranks
#   SEEDS="1 2 3 4 5" STEPS=60 Launch/ispo-experiment.sh
#   ARMS="ispo ispo-union" Launch/ispo-experiment.sh   # ablations (see arm_flags)
#   LR=3e-5 ARMS="grpo ispo" OUT=runs/ispo-exp-lr3e-5 Launch/ispo-experiment.sh   # the second table of Docs/Results-ISPO.md
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/setup.sh
source Cluster/env.sh
seeds="${SEEDS:-1 2 3}"
arms="${ARMS:-grpo ispo grpo-drgrpo ispo-drgrpo}"
ranks="${RANKS:-8}"
steps="${STEPS:-40}"
lr="${LR:-1e-4}"
sft_steps="${SFT_STEPS:-400}"
families="${FAMILIES:-synthetic:addition:2,synthetic:chain:3,synthetic:addition:4}"
out="${OUT:-runs/ispo-exp}"

arm_flags() {
  case "$1" in
    grpo) echo "algorithm.ispo.diagnostics=true" ;;
    ispo) echo "algorithm.ispo.enable=true" ;;
    grpo-drgrpo) echo "algorithm.ispo.diagnostics=true algorithm.norm_adv_by_std_in_grpo=false" ;;
    ispo-drgrpo) echo "algorithm.ispo.enable=true algorithm.norm_adv_by_std_in_grpo=false" ;;
    ispo-no-seq) echo "algorithm.ispo.enable=true algorithm.ispo.sequence_signal=false" ;;
    ispo-no-tok) echo "algorithm.ispo.enable=true algorithm.ispo.token_reward=false" ;;
    ispo-union) echo "algorithm.ispo.enable=true algorithm.ispo.set_mode=union" ;;
    ispo-symmetric) echo "algorithm.ispo.enable=true algorithm.ispo.asymmetric=false" ;;
    ispo-no-hinge) echo "algorithm.ispo.enable=true algorithm.ispo.hinge=false" ;;
    *) echo "unknown arm '$1': expected grpo, ispo, grpo-drgrpo, ispo-drgrpo, ispo-no-seq, ispo-no-tok, ispo-union, ispo-symmetric or ispo-no-hinge" >&2; exit 2 ;;
  esac
}

flags=(-n "$ranks" -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle -x MALLOC_MMAP_MAX_ -x MALLOC_TRIM_THRESHOLD_)
[ "$ranks" -gt "$(nproc)" ] && flags+=(--oversubscribe)
for seed in $seeds; do
  for arm in $arms; do
    name="${out#runs/}/$arm-s$seed"
    rm -rf "runs/$name"
    echo "== $arm, seed $seed → runs/$name"
    # shellcheck disable=SC2046
    mpirun "${flags[@]}" .build/release/ispo-cluster run --sft-steps "$sft_steps" \
      trainer.seed="$seed" trainer.experiment_name="$name" trainer.total_steps="$steps" trainer.test_freq=10 \
      "data.train_files=[$families]" data.val_batch_size=64 actor.optim.lr="$lr" \
      data.max_prompt_length=24 data.max_response_length=64 rollout.max_new_tokens=64 model.tiny.max_seq_len=96 \
      $(arm_flags "$arm") "$@" > "runs/${name%/*}-$arm-s$seed.log" 2>&1 \
      || { echo "run failed; log: runs/${name%/*}-$arm-s$seed.log" >&2; tail -5 "runs/${name%/*}-$arm-s$seed.log" >&2; exit 1; }
    grep -E "val-core/.*/acc/mean@1" "runs/${name%/*}-$arm-s$seed.log" || true
  done
done
python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib
# The table goes to $out/results.md; UPDATE_DOC=1 also replaces the matching
# section of Docs/Results-ISPO.md and its plots in Docs/figures/.
python3 Launch/ispo_report.py "$out" --arms $arms --figures "$out/figures" --prefix "ispo_lr$lr" \
  --doc "$out/results.md" --section "ispo-lr$lr"
if [ "${UPDATE_DOC:-0}" = 1 ]; then
  python3 Launch/ispo_report.py "$out" --arms $arms --figures Docs/figures --prefix "ispo_lr$lr" \
    --doc Docs/Results-ISPO.md --section "ispo-lr$lr" > /dev/null
fi
