#!/usr/bin/env bash
# FLaG against its baselines (METHODS §7, Docs/Results-FLaG.md) on the synthetic
# suite, plus one RL run with the score live:
#   1. policy: the tiny model after a short SFT on a mix of families (addition,
#      chain, sort), so it is right on part of each and wrong in family-specific ways;
#   2. answers: 4 samples (temperature 1) per validation question of 6 family/level
#      sets, labelled by the verifier (eval pipeline, generations dump);
#   3. features: `detect features` on the same checkpoint;
#   4. detect eval for K in {2,4,8} and seeds 0 1 2 (baselines on the same split), on all
#      answers and on the trained levels only (indist),
#      transfer (train on two families, test on the third), 10% of the labels;
#   5. RL with flag.enable=true and a head trained on the step-3 features;
#   6. rlarms: GRPO from the policy with FLaG off / live / filter / penalty, seeds $SEEDS,
#      $ARM_STEPS steps at lr $ARM_LR (Docs/Results-FLaG.md "Filter and penalty in RL");
#      Launch/flag_rl_report.py $OUT/rlarms summarises.
#   Launch/flag-experiment.sh                     # everything
#   STAGES="eval" SEEDS="0" Launch/flag-experiment.sh
# Logs and tables land in $OUT (default runs/flag-exp); Launch/flag_report.py summarises.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/ispo-cluster}"
OUT="${OUT:-runs/flag-exp}"
SEEDS="${SEEDS:-0 1 2}"
KS="${KS:-2 4 8}"
STAGES="${STAGES:-policy answers features eval indist transfer labels rl rlarms}"
ARMS="${ARMS:-off live filter penalty}"
ARM_STEPS="${ARM_STEPS:-30}"
ARM_LR="${ARM_LR:-3e-4}"
POLICY_STEPS="${POLICY_STEPS:-1000}"
PER_SOURCE="${PER_SOURCE:-50}"
RL_STEPS="${RL_STEPS:-12}"
EVAL_OPTS=(--lr 0.03 --epochs 150 --patience 30 --resamples 1000)
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
mkdir -p "$OUT"
has() { [[ " $STAGES " == *" $1 "* ]]; }
lengths=(data.max_prompt_length=24 data.max_response_length=96 rollout.max_new_tokens=96 model.tiny.max_seq_len=128)
policy="$OUT/policy"
families="synthetic:addition:2,synthetic:chain:1,synthetic:sort:2"
valsets="synthetic:addition:2,synthetic:addition:3,synthetic:chain:1,synthetic:chain:2,synthetic:sort:2,synthetic:sort:3"

if has policy; then
  echo "== policy: $POLICY_STEPS SFT steps on [$families]"
  rm -rf "$policy"
  "$BIN" run --sft-steps "$POLICY_STEPS" --sft-batch 32 --sft-lr 3e-3 trainer.pipeline=sft trainer.seed=1 \
    trainer.val_before_train=false trainer.default_local_dir="$policy" checkpoint.save_freq=1 \
    checkpoint.resume_mode=disable "data.train_files=[$families]" "data.val_files=[$families]" data.val_batch_size=32 \
    "${lengths[@]}" > "$policy.log" 2>&1 || { tail -5 "$policy.log" >&2; exit 1; }
  grep -E "val-core" "$policy.log" | tail -2 || true
fi

answers="$OUT/answers"
if has answers; then
  echo "== answers: 4 samples per question, $PER_SOURCE questions per set of [$valsets]"
  rm -rf "$answers"
  "$BIN" run trainer.pipeline=eval model.path="$policy" trainer.seed=2 trainer.default_local_dir="$answers" \
    trainer.dump_rollouts=true checkpoint.resume_mode=disable "data.train_files=[$families]" "data.val_files=[$valsets]" \
    data.val_batch_size="$PER_SOURCE" rollout.val_kwargs.n=4 rollout.val_kwargs.greedy=false rollout.val_kwargs.temperature=1.0 \
    "${lengths[@]}" > "$answers.log" 2>&1 || { tail -5 "$answers.log" >&2; exit 1; }
fi

features="$OUT/synthetic.features.jsonl"
if has features; then
  echo "== features (detect features, final-norm input)"
  "$BIN" detect features --model "$policy" --input "$answers/generations/0.jsonl" --output "$features" --max-seq-len 128 \
    --threads 1 | tee "$OUT/features.log"
  # One file per family, for transfer.
  for fam in addition chain sort; do grep "\"data_source\":\"$fam" "$features" > "$OUT/$fam.features.jsonl" || true; done
fi

if has eval; then
  for seed in $SEEDS; do
    for k in $KS; do
      echo "== detect eval: synthetic, K=$k, seed $seed"
      "$BIN" detect eval --features "$features" --k "$k" --seed "$seed" "${EVAL_OPTS[@]}" | tee "$OUT/eval-k$k-s$seed.log"
    done
  done
fi

if has indist; then
  # The trained levels only (addition:2, chain:1, sort:2): the harder-level sets are
  # all wrong, which makes the full suite easy; here errors are in-distribution slips.
  indist="$OUT/indist.features.jsonl"
  grep -E '"data_source":"(addition:2|chain:1|sort:2)"' "$features" > "$indist"
  for seed in $SEEDS; do
    for k in $KS; do
      echo "== detect eval: trained levels only, K=$k, seed $seed"
      "$BIN" detect eval --features "$indist" --k "$k" --seed "$seed" "${EVAL_OPTS[@]}" | tee "$OUT/indist-k$k-s$seed.log"
    done
  done
fi

if has transfer; then
  for test in addition chain sort; do
    train="$OUT/train-not-$test.features.jsonl"
    cat $(for f in addition chain sort; do [ "$f" != "$test" ] && echo "$OUT/$f.features.jsonl"; done) > "$train"
    for seed in $SEEDS; do
      echo "== transfer: train on all but $test, test on $test, K=4, seed $seed"
      "$BIN" detect eval --train-features "$train" --features "$OUT/$test.features.jsonl" --k 4 --seed "$seed" \
        "${EVAL_OPTS[@]}" | tee "$OUT/transfer-$test-s$seed.log" || echo "(transfer to $test failed: see above)"
    done
  done
fi

if has labels; then
  for seed in $SEEDS; do
    echo "== 10% of the labels, K=4, seed $seed"
    "$BIN" detect eval --features "$features" --k 4 --seed "$seed" --label-fraction 0.1 "${EVAL_OPTS[@]}" \
      | tee "$OUT/labels10-s$seed.log" || echo "(10% labels failed: see above)"
  done
fi

if has rl; then
  echo "== RL with the score live: head K=4 on the synthetic features, $RL_STEPS GRPO steps from the policy"
  "$BIN" detect train --features "$features" --output "$OUT/head-k4.shard" --k 4 --seed 0 --lr 0.03 --epochs 150 --patience 30 \
    | tee "$OUT/head.log"
  rm -rf "$OUT/rl"
  "$BIN" run trainer.pipeline=rl model.path="$policy" trainer.seed=3 trainer.default_local_dir="$OUT/rl" \
    trainer.total_steps="$RL_STEPS" trainer.test_freq="$RL_STEPS" trainer.val_before_train=true trainer.dump_rollouts=true \
    checkpoint.resume_mode=disable checkpoint.save_freq=-1 "data.train_files=[$families]" "data.val_files=[$families]" \
    data.val_batch_size=16 data.train_batch_size=8 rollout.n=4 actor.ppo_mini_batch_size=8 actor.ppo_micro_batch_size_per_gpu=32 \
    actor.optim.lr=3e-5 flag.enable=true flag.head="$OUT/head-k4.shard" "${lengths[@]}" > "$OUT/rl.log" 2>&1 \
    || { tail -5 "$OUT/rl.log" >&2; exit 1; }
  grep -c '"flag/scored_frac"' "$OUT/rl/metrics.jsonl" || true
  echo "== live vs offline scores on step 1's rollouts (drawn with the starting weights)"
  "$BIN" detect features --model "$policy" --input "$OUT/rl/rollouts/1.jsonl" --output "$OUT/rl-step1.features.jsonl" \
    --max-seq-len 128 --threads 1 > /dev/null
  "$BIN" detect head --head "$OUT/head-k4.shard" --json "$OUT/head-k4.json"
  python3 Launch/flag_live_check.py "$OUT/head-k4.json" "$OUT/rl/rollouts/1.jsonl" "$OUT/rl-step1.features.jsonl" \
    | tee "$OUT/live-check.log"
fi

if has rlarms; then
  head="$OUT/head-k4.shard"
  if [ ! -f "$head" ]; then
    "$BIN" detect train --features "$features" --output "$head" --k 4 --seed 0 --lr 0.03 --epochs 150 --patience 30 \
      | tee "$OUT/head.log"
  fi
  mkdir -p "$OUT/rlarms"
  arm_flags() {
    case "$1" in
      off) echo "flag.enable=false" ;;
      live) echo "flag.enable=true flag.head=$head" ;;
      filter) echo "flag.enable=true flag.head=$head flag.filter=true" ;;
      penalty) echo "flag.enable=true flag.head=$head flag.penalty=0.5" ;;
      *) echo "unknown arm $1" >&2; exit 2 ;;
    esac
  }
  for seed in $SEEDS; do
    for arm in $ARMS; do
      run="$OUT/rlarms/$arm-s$seed"
      echo "== RL arm $arm, seed $seed: $ARM_STEPS GRPO steps, lr $ARM_LR"
      rm -rf "$run"
      # shellcheck disable=SC2046
      "$BIN" run trainer.pipeline=rl model.path="$policy" trainer.seed="$seed" trainer.default_local_dir="$run" \
        trainer.total_steps="$ARM_STEPS" trainer.test_freq=10 trainer.val_before_train=true trainer.dump_rollouts=true \
        checkpoint.resume_mode=disable checkpoint.save_freq=-1 cluster.threads_per_rank=1 \
        "data.train_files=[$families]" "data.val_files=[$families]" data.val_batch_size=64 data.train_batch_size=8 \
        rollout.n=4 actor.ppo_mini_batch_size=8 actor.ppo_micro_batch_size_per_gpu=32 actor.optim.lr="$ARM_LR" \
        $(arm_flags "$arm") "${lengths[@]}" > "$run.log" 2>&1 || { tail -5 "$run.log" >&2; exit 1; }
      grep "val-core/all/acc/mean@1" "$run.log" | tail -1 || true
    done
  done
fi
