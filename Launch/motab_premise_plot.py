#!/usr/bin/env python3
"""Plot of MOTAB's premise (Launch/motab-premise.sh): teacher entropy and
teacher continuation accuracy against the depth of the student's first error,
on the student's wrong prefix and on the matched correct prefix.

    python3 Launch/motab_premise_plot.py runs/motab-premise/premise.jsonl Docs/figures/motab-premise.png
"""
import json
import math
import sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def mean_se(xs):
    n = len(xs)
    m = sum(xs) / n
    se = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n) if n > 1 else 0.0
    return m, se


def main(path, out):
    records = [json.loads(line) for line in open(path) if line.strip()]
    by = defaultdict(list)
    for r in records:
        by[(r["family"], r["depth"] + 1)].append(r)
    families = sorted({f for f, _ in by})
    panels = [("nextEntropy", "teacher entropy on its next step (nats)"),
              ("stepEntropy", "teacher entropy on the cut step (nats)"),
              ("stepNLL", "teacher NLL of the cut step's tokens (nats)"),
              ("correct", "teacher continuation accuracy")]
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    for ax, (key, label) in zip(axes, panels):
        for fi, fam in enumerate(families):
            depths = sorted(d for f, d in by if f == fam)
            for side, style in (("wrong", "-o"), ("reference", "--s")):
                ys = [mean_se([float(r[side][key]) for r in by[(fam, d)]]) for d in depths]
                ax.errorbar(depths, [y for y, _ in ys], yerr=[e for _, e in ys], fmt=style, color=f"C{fi}", capsize=3,
                            label=f"{fam}, {'student prefix (wrong step)' if side == 'wrong' else 'matched correct prefix'}")
        ax.set_xlabel("depth of the student's first wrong step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    counts = ", ".join(f"{fam}: " + "/".join(str(len(by[(fam, d)])) for d in sorted(d for f, d in by if f == fam))
                       for fam in families)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"MOTAB premise on student rollouts (records per depth: {counts}); error bars ±1 s.e.", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out} from {len(records)} records")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
