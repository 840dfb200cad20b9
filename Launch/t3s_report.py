#!/usr/bin/env python3
"""Tables and plots of a T3S experiment (Launch/t3s-experiment.sh).

    python3 Launch/t3s_report.py runs/t3s-exp --arms sft t3s anti random rrt --seeds 1 2 3

Reads <dir>/<arm>-s<seed>/metrics.jsonl and prints Markdown: final greedy
accuracy per arm (mean ± sample std over seeds, and each seed), each arm's
paired difference from plain SFT, the shock (training accuracy at θ_0, at the
bottleneck θ_b and at the end of the pre-run) and the anchor statistics.
Writes <dir>/figures/t3s-shock.png (training accuracy over steps).
"""
import argparse
import json
import os
import statistics as st


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(run):
    recs = records(os.path.join(run, "metrics.jsonl"))
    evals = [(r["step"], r["data"]["val-core/all/acc/mean@1"]) for r in recs if "val-core/all/acc/mean@1" in r["data"]]
    probes = [(r["step"], r["data"]["t3s/train_acc"], r["data"].get("t3s/phase", 0)) for r in recs if "t3s/train_acc" in r["data"]]
    anchors = next((r["data"] for r in recs if "t3s/anchor_frac" in r["data"]), {})
    return {"evals": evals, "probes": probes, "anchors": anchors}


def fmt(xs):
    if not xs:
        return "—"
    m = st.mean(xs)
    s = st.stdev(xs) if len(xs) > 1 else 0.0
    return f"{100 * m:.1f} ± {100 * s:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--arms", nargs="+", default=["sft", "t3s", "anti", "random", "rrt"])
    ap.add_argument("--seeds", nargs="+", default=["1", "2", "3"])
    a = ap.parse_args()
    runs = {(arm, s): summary(os.path.join(a.dir, f"{arm}-s{s}")) for arm in a.arms for s in a.seeds
            if os.path.exists(os.path.join(a.dir, f"{arm}-s{s}", "metrics.jsonl"))}
    print("| arm | final val acc (mean ± std) | per seed | Δ vs sft (paired, mean ± std) |")
    print("|---|---|---|---|")
    for arm in a.arms:
        finals = [runs[(arm, s)]["evals"][-1][1] for s in a.seeds if (arm, s) in runs]
        per = ", ".join(f"{100 * runs[(arm, s)]['evals'][-1][1]:.1f}" for s in a.seeds if (arm, s) in runs)
        diffs = [runs[(arm, s)]["evals"][-1][1] - runs[("sft", s)]["evals"][-1][1]
                 for s in a.seeds if (arm, s) in runs and ("sft", s) in runs]
        print(f"| {arm} | {fmt(finals)} | {per} | {fmt(diffs) if arm != 'sft' else '—'} |")
    print()
    print("| seed | θ_0 val acc | train acc: θ_0 → θ_b (step) → end of pre-run | anchor frac | per-token grad ratio | grad cosine |")
    print("|---|---|---|---|---|---|")
    for s in a.seeds:
        r = runs.get(("t3s", s)) or runs.get(("sft", s))
        if not r:
            continue
        pre = [p for p in r["probes"] if p[2] == 0]
        low = min(pre, key=lambda p: p[1])
        an = runs.get(("t3s", s), {}).get("anchors", {})
        print(f"| {s} | {100 * r['evals'][0][1]:.1f} | {100 * pre[0][1]:.1f} → {100 * low[1]:.1f} (step {low[0]}) → "
              f"{100 * pre[-1][1]:.1f} | {an.get('t3s/anchor_frac', float('nan')):.3f} | "
              f"{an.get('t3s/anchor_grad_norm_ratio_per_token', float('nan')):.2f} | {an.get('t3s/anchor_grad_cosine', float('nan')):.3f} |")
    types = {}
    for s in a.seeds:
        an = runs.get(("t3s", s), {}).get("anchors", {})
        for k, v in an.items():
            if k.startswith("t3s/anchor_type/"):
                types.setdefault(k.split("/")[-1], []).append(v)
    if types:
        print()
        print("anchor token types (share of anchors, mean over seeds): "
              + ", ".join(f"{k} {100 * st.mean(v):.1f}%" for k, v in sorted(types.items())))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    os.makedirs(os.path.join(a.dir, "figures"), exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for arm in a.arms:
        for i, s in enumerate(a.seeds):
            r = runs.get((arm, s))
            if not r:
                continue
            pts = [p for p in r["probes"] if arm == "sft" or p[2] == 1]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=f"C{a.arms.index(arm)}", alpha=0.7,
                    label=arm if i == 0 else None)
    ax.set_xlabel("step (pre-run, then the arm)")
    ax.set_ylabel("training accuracy (greedy)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(a.dir, "figures", "t3s-shock.png"), dpi=110)


if __name__ == "__main__":
    main()
