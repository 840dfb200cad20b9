#!/usr/bin/env bash
# Token Priority (METHODS §5) on the tiny testbed: SFT of a tiny model from
# scratch on 2-digit addition traces, with per-token priorities Φ, in two
# corrupted settings ([ours]):
#   clean  : uniform on clean traces (the ceiling; saved, it is the Rho-1 reference)
#   noise  : NOISE_RATE of the traces carry NOISE_TOKENS junk tokens;
#            arms uniform | hard (oracle mask) | random (as many tokens masked, at random) | rho1 (vs the clean run) | soft
#   toxic  : TOXIC_RATE of the traces end in answer + 1;
#            arms uniform | hard (oracle mask) | random | signed (unlearn the wrong answers)
# One process per run (one rank holds learner and rollout). Prints a table of
# final validation accuracy and the priority/* statistics per run.
#   Launch/priority-experiment.sh                    # seeds 1 2 3
#   SEEDS=1 STEPS=200 Launch/priority-experiment.sh  # one seed, shorter
# Extra arguments are passed to every run as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
source Cluster/env.sh
BIN="${BIN:-.build/release/ispo-cluster}"
SEEDS="${SEEDS:-1 2 3}"
STEPS="${STEPS:-300}"
NOISE_RATE="${NOISE_RATE:-0.5}"; NOISE_TOKENS="${NOISE_TOKENS:-6}"; TOXIC_RATE="${TOXIC_RATE:-0.3}"
ARMS="${ARMS:-noise:uniform noise:hard noise:random noise:rho1 noise:soft toxic:uniform toxic:hard toxic:random toxic:signed}"
mkdir -p runs
common=(trainer.pipeline=priority checkpoint.resume_mode=disable
        sft.steps="$STEPS" sft.batch_size=32 sft.lr=3e-3
        priority.examples=512 priority.probe_freq=50 priority.probe_prompts=64
        "data.train_files=[synthetic:addition:2]" "data.val_files=[synthetic:addition:2]" data.val_batch_size=200
        data.max_prompt_length=16 data.max_response_length=64 rollout.max_new_tokens=64
        model.tiny.dim=64 model.tiny.layers=4 model.tiny.heads=4 model.tiny.kv_heads=2 model.tiny.ffn_dim=192
        model.tiny.max_seq_len=96)
run() {  # name, overrides…
  local name="$1"; shift
  echo "== $name"
  rm -rf "runs/$name"
  local t0=$SECONDS
  "$BIN" "${common[@]}" trainer.experiment_name="$name" "$@" > "runs/$name.log" 2>&1 \
    || { tail -5 "runs/$name.log" >&2; exit 1; }
  echo "   $((SECONDS - t0)) s"
}
for seed in $SEEDS; do
  ref="priority-clean-uniform-s$seed"
  run "$ref" trainer.seed="$seed" priority.mode=uniform priority.testbed=clean checkpoint.save_freq=1 "$@"
  for arm in $ARMS; do
    testbed="${arm%%:*}"; mode="${arm##*:}"
    run "priority-$testbed-$mode-s$seed" trainer.seed="$seed" priority.mode="$mode" priority.testbed="$testbed" \
      priority.noise_rate="$NOISE_RATE" priority.noise_tokens="$NOISE_TOKENS" priority.toxic_rate="$TOXIC_RATE" \
      priority.reference="runs/$ref/checkpoints" priority.keep_fraction=0.7 priority.refresh=50 "$@"
  done
done
python3 - "$SEEDS" <<'PY'
import json, sys, glob, os
keys = ["priority/kept_frac", "priority/mean_phi", "priority/noise_in_kept", "priority/noise_weight_share",
        "priority/toxic_in_kept", "priority/negative_frac"]
print("| run | val acc start | val acc end | last train acc | val toxic rate end | " + " | ".join(k.split("/")[1] for k in keys) + " |")
print("|---|---|---|---|---|" + "---|" * len(keys))
for path in sorted(glob.glob("runs/priority-*-s*/metrics.jsonl")):
    rows = [json.loads(l) for l in open(path)]
    val = [r["data"]["val-core/all/acc/mean@1"] for r in rows if "val-core/all/acc/mean@1" in r["data"]]
    first = next((r["data"] for r in rows if "priority/kept_frac" in r["data"]), {})
    train = [r["data"]["priority/train_acc"] for r in rows if "priority/train_acc" in r["data"]]
    cells = [f"{first[k]:.3f}" if k in first else "" for k in keys]
    toxic = [r["data"]["priority/val_toxic_rate"] for r in rows if "priority/val_toxic_rate" in r["data"]]
    print(f"| {os.path.basename(os.path.dirname(path))} | {val[0]:.3f} | {val[-1]:.3f} | {train[-1] if train else float('nan'):.3f} | "
          + (f"{toxic[-1]:.3f}" if toxic else "") + " | "
          + " | ".join(cells) + " |")
PY
