#!/usr/bin/env bash
# ISPO round two (Docs/Results-ISPO.md, issue #17): per seed one SFT warm start
# with direct-answer examples (one process), then every arm as a one-process
# RL run from that checkpoint, two runs at a time (one BLAS thread each, for a
# 2-core machine). Then the round-two tables.
#   Launch/ispo2-experiment.sh                                 # 3 seeds × 7 arms
#   SEEDS="1 2 3 4 5" STEPS=300 Launch/ispo2-experiment.sh
#   ARMS="grpo ispo-tok jitter" JOBS=1 Launch/ispo2-experiment.sh
#   CALIBRATE=1 Launch/ispo2-experiment.sh                     # SFT only: the warm start's pass@1 / pass@8 / greedy@1 per family
#   SFT_FROM=runs/ispo2-cal385/sft-s1 Launch/ispo2-experiment.sh  # every seed's RL starts from one warm start
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/ispo-cluster}"
[ -x "$BIN" ] || swift build -c release
export OPENBLAS_NUM_THREADS=1
seeds="${SEEDS:-1 2 3}"
arms="${ARMS:-grpo drgrpo ispo-seq ispo-tok seq-only tok-only jitter}"
steps="${STEPS:-100}"
test_freq="${TEST_FREQ:-25}"
lr="${LR:-3e-5}"
sft_steps="${SFT_STEPS:-400}"
direct="${DIRECT_FRAC:-0.25}"
families="${FAMILIES:-synthetic:addition:2,synthetic:addition:3}"
jobs="${JOBS:-2}"
out="${OUT:-runs/ispo2}"
mkdir -p "$out"

# Shared by SFT and RL: lengths, the families, 64 held-out prompts per family
# evaluated with 8 samples at T = 0.6 (avg@8 = pass@1, pass@8) and, in the same
# evaluation, one greedy answer per prompt (greedy@1; a ninth answer per prompt).
common=(data.max_prompt_length=24 data.max_response_length=64 rollout.max_new_tokens=64 model.tiny.max_seq_len=96
        cluster.threads_per_rank=1 "data.train_files=[$families]" data.val_batch_size=64
        rollout.val_kwargs.n=8 rollout.val_kwargs.greedy=false rollout.val_kwargs.temperature=0.6
        rollout.val_kwargs.greedy_pass=true)

arm_flags() {
  local floor="algorithm.adv_std_floor=0.1" centre="algorithm.ispo.centre_sequence=true"
  case "$1" in
    grpo) echo "algorithm.ispo.diagnostics=true $floor $centre" ;;
    drgrpo) echo "algorithm.ispo.diagnostics=true $centre algorithm.norm_adv_by_std_in_grpo=false actor.loss_agg_mode=seq-mean-token-sum-norm" ;;
    ispo-seq) echo "algorithm.ispo.enable=true algorithm.ispo.token_credit=sequence $floor $centre" ;;
    ispo-tok) echo "algorithm.ispo.enable=true algorithm.ispo.token_credit=token $floor $centre" ;;
    seq-only) echo "algorithm.ispo.enable=true algorithm.ispo.token_reward=false $floor $centre" ;;
    tok-only) echo "algorithm.ispo.enable=true algorithm.ispo.sequence_signal=false algorithm.ispo.token_credit=token $floor $centre" ;;
    jitter) echo "algorithm.ispo.jitter_control=true $floor $centre" ;;
    grpo-nosig) echo "$floor" ;;   # GRPO without the signal passes: the cost baseline
    *) echo "unknown arm '$1': expected grpo, drgrpo, ispo-seq, ispo-tok, seq-only, tok-only, jitter or grpo-nosig" >&2; exit 2 ;;
  esac
}

# 1. One SFT warm start per seed (evaluated at its end: the calibration numbers),
#    unless SFT_FROM names one warm start for every seed (then RL seeds differ only in sampling).
sft_from="${SFT_FROM:-}"
for seed in $([ -z "$sft_from" ] && echo "$seeds"); do
  sft="$out/sft-s$seed"
  if [ ! -f "$sft/checkpoints/latest_checkpointed_iteration.txt" ]; then
    rm -rf "$sft"
    echo "== SFT seed $seed: $sft_steps steps on $families (direct answers $direct) → $sft"
    "$BIN" run --sft-steps "$sft_steps" --sft-batch 32 --sft-lr 3e-3 sft.direct_answer_frac="$direct" \
      trainer.pipeline=sft trainer.seed="$seed" trainer.val_before_train=false trainer.experiment_name="${sft#runs/}" \
      checkpoint.save_freq=1 checkpoint.resume_mode=disable "${common[@]}" > "$out/sft-s$seed.log" 2>&1 \
      || { tail -5 "$out/sft-s$seed.log" >&2; exit 1; }
  fi
  grep -E "val-core/.*acc/((mean|pass)@8|greedy@1)" "$out/sft-s$seed.log" || true
done
[ "${CALIBRATE:-0}" = 1 ] && exit 0

# 2. The arms, JOBS at a time.
run_arm() {
  local arm=$1 seed=$2 name="${out#runs/}/$1-s$2"
  rm -rf "runs/$name"
  # shellcheck disable=SC2046
  "$BIN" run --sft-steps 0 trainer.pipeline=rl model.path="${sft_from:-$out/sft-s$seed}/checkpoints" checkpoint.resume_mode=disable \
    trainer.seed="$seed" trainer.experiment_name="$name" trainer.total_steps="$steps" trainer.test_freq="$test_freq" \
    actor.optim.lr="$lr" "${common[@]}" $(arm_flags "$arm") > "$out/$arm-s$seed.log" 2>&1 \
    || { echo "run failed: $out/$arm-s$seed.log" >&2; tail -5 "$out/$arm-s$seed.log" >&2; return 1; }
  echo "== done $arm seed $seed"
}
for seed in $seeds; do
  for arm in $arms; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_arm "$arm" "$seed" &
  done
done
wait
python3 Launch/ispo2_report.py "$out" --arms $arms > "$out/results.md"
cat "$out/results.md"
