#!/usr/bin/env bash
# P2D (METHODS §6) on the tiny testbed (Docs/Results-P2D.md): a weak student
# (the tiny model after BASE_STEPS SFT steps on BASE_TASK, saved as
# runs/p2d-base-<task>-b<BASE_STEPS>-s<seed>) is fine-tuned on TASK from a pool
# of POOL traces, in five arms that all start from it:
#   full                  : every parameter, the whole pool, sft.steps=STEPS (t_full_sft)
#   random_data           : every parameter, a random 10% of the pool
#   p2d_heads_random_data : the P2D heads (top 10% by proxy W1 score), random data
#   random_heads_p2d_data : as many random heads, the P2D data
#   p2d                   : the P2D heads on the P2D data (top 10% by DATA_SCORE)
# Subset arms train SUBSET_STEPS steps (0: as many epochs as full,
# round(STEPS·0.1)). LR is every arm's peak lr, BASE_LR the base run's; TINY
# the model shape ("dim layers heads kv_heads ffn_dim"). Prints validation
# accuracy, select/train seconds and AER = (select + train) / t_full_sft.
# Defaults: the testbed of Docs/Results-P2D.md (addition:2 student after 150
# steps, ~20 % held-out accuracy; pool 3000; full 300 steps; subsets 100 steps).
#   Launch/p2d-experiment.sh                       # seeds 1 2 3
#   SEEDS=1 DATA_SCORE=gradient Launch/p2d-experiment.sh
#   TAG=a1to2 BASE_TASK=addition:1 TASK=addition:2 Launch/p2d-experiment.sh   # runs/p2d-a1to2-<arm>-s<seed>
# Extra arguments are passed to every arm as overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
source Cluster/env.sh
BIN="${BIN:-.build/release/ispo-cluster}"
SEEDS="${SEEDS:-1 2 3}"
BASE_STEPS="${BASE_STEPS:-150}"; TASK="${TASK:-addition:2}"
BASE_TASK="${BASE_TASK:-addition:2}"   # a comma list (addition:1,addition:3) trains the base on a mixture
STEPS="${STEPS:-300}"; POOL="${POOL:-3000}"; DATA_SCORE="${DATA_SCORE:-icl}"
LR="${LR:-3e-3}"; BASE_LR="${BASE_LR:-3e-3}"; SUBSET_STEPS="${SUBSET_STEPS:-100}"   # 0: round(STEPS·0.1)
# The tiny model: dim layers heads kv_heads ffn_dim (a non-default shape gets its own base run).
read -r DIM LAYERS HEADS KV FFN <<< "${TINY:-64 4 4 2 192}"
ARMS="${ARMS:-full random_data p2d_heads_random_data random_heads_p2d_data p2d}"
export TAG="${TAG:-}"
prefix="p2d${TAG:+-$TAG}"
mkdir -p runs
lengths=(data.max_prompt_length=16 data.max_response_length=64 rollout.max_new_tokens=64)
model=(model.tiny.dim=$DIM model.tiny.layers=$LAYERS model.tiny.heads=$HEADS model.tiny.kv_heads=$KV model.tiny.ffn_dim=$FFN
       model.tiny.max_seq_len=128)
shape=""; [ "$DIM $LAYERS $HEADS $KV $FFN" = "64 4 4 2 192" ] || shape="-d${DIM}l${LAYERS}h${HEADS}"
for seed in $SEEDS; do
  base="p2d-base-${BASE_TASK//[:,]/}$shape-b$BASE_STEPS-s$seed"
  if [ ! -f "runs/$base/checkpoints/latest_checkpointed_iteration.txt" ]; then
    echo "== $base: $BASE_STEPS SFT steps on $BASE_TASK"
    rm -rf "runs/$base"
    "$BIN" trainer.pipeline=sft trainer.experiment_name="$base" trainer.seed="$seed" checkpoint.save_freq=1 \
      checkpoint.resume_mode=disable sft.steps="$BASE_STEPS" sft.batch_size=32 sft.lr="$BASE_LR" \
      "data.train_files=[synthetic:${BASE_TASK//,/,synthetic:}]" "data.val_files=[synthetic:${BASE_TASK//,/,synthetic:},synthetic:$TASK]" \
      data.val_batch_size=200 "${lengths[@]}" "${model[@]}" > "runs/$base.log" 2>&1 \
      || { tail -5 "runs/$base.log" >&2; exit 1; }
  fi
  for arm in $ARMS; do
    name="$prefix-$arm-s$seed"
    echo "== $name"
    rm -rf "runs/$name"
    t0=$SECONDS
    "$BIN" trainer.pipeline=p2d trainer.experiment_name="$name" trainer.seed="$seed" checkpoint.resume_mode=disable \
      model.path="runs/$base/checkpoints" p2d.arm="$arm" p2d.pool="$POOL" p2d.proxy_examples=100 p2d.proxy_steps=20 \
      p2d.head_fraction=0.1 p2d.data_fraction=0.1 p2d.data_score="$DATA_SCORE" p2d.probe_examples=16 \
      sft.steps="$STEPS" sft.batch_size=32 sft.lr="$LR" p2d.subset_steps="$SUBSET_STEPS" \
      "data.train_files=[synthetic:$TASK]" "data.val_files=[synthetic:$TASK]" data.val_batch_size=200 \
      "${lengths[@]}" "$@" > "runs/$name.log" 2>&1 || { tail -5 "runs/$name.log" >&2; exit 1; }
    echo "   $((SECONDS - t0)) s"
  done
done
python3 - <<'PY'
import json, glob, os, re
runs, prefix = {}, "p2d" + ("-" + os.environ["TAG"] if os.environ["TAG"] else "")
arms = ["full", "random_data", "p2d_heads_random_data", "random_heads_p2d_data", "p2d"]
for path in sorted(glob.glob(f"runs/{prefix}-*-s*/metrics.jsonl")):
    name = os.path.basename(os.path.dirname(path))
    match = re.fullmatch(re.escape(prefix) + r"-(" + "|".join(arms) + r")-s(\d+)", name)
    if not match: continue
    rows = [json.loads(l) for l in open(path)]
    val = [r["data"]["val-core/all/acc/mean@1"] for r in rows if "val-core/all/acc/mean@1" in r["data"]]
    m = next((r["data"] for r in rows if "p2d/select_s" in r["data"]), None)
    if m is None: continue  # still running (another invocation of this recipe)
    arm, seed = match.groups()
    runs[(seed, arm)] = (val, m)
print("| seed | arm | val acc start | val acc end | select s | train s | AER | heads | data | overlap w/ full-grad top |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (seed, arm), (val, m) in sorted(runs.items()):
    full = runs.get((seed, "full"), (None, {}))[1].get("p2d/full_sft_s")
    aer = (m["p2d/select_s"] + m["p2d/train_s"]) / full if full else float("nan")
    heads = ",".join(sorted(k.split("/")[-1] for k in m if k.startswith("p2d/head_selected/"))) or "all"
    ov = m.get("p2d/overlap_with_full_gradient")
    print(f"| {seed} | {arm} | {val[0]:.3f} | {val[-1]:.3f} | {m['p2d/select_s']:.1f} | {m['p2d/train_s']:.1f} | {aer:.2f} | "
          f"{heads} | {int(m['p2d/data_selected'])} | {'' if ov is None else f'{ov:.2f}'} |")
PY
