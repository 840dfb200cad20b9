#!/usr/bin/env python3
"""Plot a run's metrics (PNG) from <run>/metrics.jsonl (and sft_metrics.jsonl).

    python3 Launch/plot_metrics.py runs/default            # writes runs/default/plots/*.png
    python3 Launch/plot_metrics.py runs/a runs/b --keys critic/score/mean frac_reward_zero_std

Needs matplotlib (`python3 -m pip install matplotlib`). Several run
directories are overlaid, so GRPO and ISPO runs compare on the same axes.
"""
import argparse
import json
import os
import sys

DEFAULT_KEYS = [
    "critic/score/mean", "train/outcome_acc", "frac_reward_zero_std", "effective_zero_adv_frac",
    "actor/pg_loss", "actor/entropy_token_mean", "actor/grad_norm", "actor/pg_clipfrac",
    "response_length/mean", "rollout/logprob_abs_diff", "timing_s/step", "perf/rollout_tokens_per_s",
]


def read(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e}); expected one {{\"step\": N, \"data\": {{...}}}} object per line")
    return rows


def series(rows, key):
    pts = [(r["step"], r["data"][key]) for r in rows if key in r.get("data", {}) and r["data"][key] is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run directories (each with metrics.jsonl)")
    ap.add_argument("--keys", nargs="*", help="metric names (default: a standard set, plus every val-core/* key)")
    ap.add_argument("--out", help="output folder (default: <first run>/plots)")
    a = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("matplotlib is not installed: run `python3 -m pip install matplotlib` and try again")
    data = {r: read(os.path.join(r, "metrics.jsonl")) for r in a.runs}
    for r, rows in data.items():
        if not rows:
            sys.exit(f"{r}/metrics.jsonl: expected metric lines, found none (is this a run directory?)")
    keys = a.keys or DEFAULT_KEYS + sorted({k for rows in data.values() for row in rows for k in row["data"] if k.startswith("val-core/")})
    out = a.out or os.path.join(a.runs[0], "plots")
    os.makedirs(out, exist_ok=True)
    written = 0
    for key in keys:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        drawn = False
        for r, rows in data.items():
            xs, ys = series(rows, key)
            if xs:
                ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, ms=3, label=os.path.basename(r.rstrip("/")))
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, key.replace("/", "_") + ".png"), dpi=110)
        plt.close(fig)
        written += 1
    sft = {r: read(os.path.join(r, "sft_metrics.jsonl")) for r in a.runs}
    if any(sft.values()):
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for r, rows in sft.items():
            xs, ys = series(rows, "sft/loss")
            if xs:
                ax.plot(xs, ys, label=os.path.basename(r.rstrip("/")))
        ax.set_title("sft/loss (warm start)"); ax.set_xlabel("step"); ax.set_yscale("log"); ax.grid(alpha=0.3); ax.legend(fontsize=8)
        fig.tight_layout(); fig.savefig(os.path.join(out, "sft_loss.png"), dpi=110); plt.close(fig)
        written += 1
    print(f"wrote {written} plots to {out}")


if __name__ == "__main__":
    main()
