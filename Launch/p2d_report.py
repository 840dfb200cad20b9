#!/usr/bin/env python3
"""Tables and the accuracy-vs-AER plot of a P2D experiment (Launch/p2d-experiment.sh).

    python3 Launch/p2d_report.py runs --prefix p2d-a1to2 --seeds 1 2 3 --figures Docs/figures

Reads <dir>/<prefix>-<arm>-s<seed>/metrics.jsonl and prints Markdown: per arm
the final greedy validation accuracy (mean ± sample std over seeds, and each
seed), paired differences from `random_data` and from `full` with the
protocol's criterion (mean > 2 × std of the paired differences), selection
and training seconds, AER = (select + train) / t_full_sft of the same seed,
the share of trainable parameters, the selected heads and the overlap of the
selected data with the top data by full-model gradient norm. Writes
<figures>/<prefix>-acc-vs-aer.png.
"""
import argparse
import json
import os
import statistics as st

ARMS = ["full", "random_data", "p2d_heads_random_data", "random_heads_p2d_data", "p2d"]


def load(path):
    val, m = [], {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)["data"]
            if "val-core/all/acc/mean@1" in d:
                val.append(d["val-core/all/acc/mean@1"])
            if "p2d/select_s" in d:
                m = d
    if not m or len(val) < 2:
        return None  # not finished: no selection line or no final evaluation yet
    return {"start": val[0], "end": val[-1], "m": m}


def ms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    return st.mean(xs), (st.stdev(xs) if len(xs) > 1 else 0.0)


def fmt(xs, scale=100.0, digits=1):
    m, s = ms(xs)
    return "—" if m is None else f"{scale * m:.{digits}f} ± {scale * s:.{digits}f}"


def paired(a, b):
    diffs = [x - y for x, y in zip(a, b) if x is not None and y is not None]
    if len(diffs) < 2:
        return "—"
    m, s = ms(diffs)
    return f"{100 * m:+.1f} ± {100 * s:.1f} ({'yes' if m > 0 and m > 2 * s else 'no'})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--prefix", default="p2d")
    ap.add_argument("--seeds", nargs="+", default=["1", "2", "3"])
    ap.add_argument("--figures", default=None)
    ap.add_argument("--extra", nargs="*", default=[],
                    help="LABEL=PREFIX: that prefix's p2d arm as one more row (e.g. p2d_gradient=p2d-grad), "
                         "its AER against this prefix's full arm")
    a = ap.parse_args()
    runs = {}
    arms = list(ARMS)
    for arm in ARMS:
        for s in a.seeds:
            p = os.path.join(a.dir, f"{a.prefix}-{arm}-s{s}", "metrics.jsonl")
            if os.path.exists(p) and load(p):
                runs[(arm, s)] = load(p)
    for spec in a.extra:
        label, prefix = spec.split("=", 1)
        arms.append(label)
        for s in a.seeds:
            p = os.path.join(a.dir, f"{prefix}-p2d-s{s}", "metrics.jsonl")
            if os.path.exists(p) and load(p):
                runs[(label, s)] = load(p)

    def col(arm, f):
        return [f(runs[(arm, s)], s) if (arm, s) in runs else None for s in a.seeds]

    def full_s(s):
        return runs[("full", s)]["m"].get("p2d/full_sft_s") if ("full", s) in runs else None

    def aer(r, s):
        f = full_s(s)
        return (r["m"]["p2d/select_s"] + r["m"]["p2d/train_s"]) / f if f else None

    print(f"Final greedy validation accuracy (%, mean ± sample std over seeds {' '.join(a.seeds)}); "
          "Δ: paired difference, mean ± std, and whether mean > 2 × std.")
    print()
    print("| arm | val acc start | val acc end | per seed | Δ vs random_data | Δ vs full | select s | train s | AER | trainable frac | overlap w/ full-grad top |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for arm in arms:
        end = col(arm, lambda r, s: r["end"])
        if all(x is None for x in end):
            continue
        per = ", ".join("—" if x is None else f"{100 * x:.1f}" for x in end)
        ov = col(arm, lambda r, s: r["m"].get("p2d/overlap_with_full_gradient"))
        print(f"| {arm} | {fmt(col(arm, lambda r, s: r['start']))} | {fmt(end)} | {per} | "
              f"{paired(end, col('random_data', lambda r, s: r['end'])) if arm not in ('full', 'random_data') else '—'} | "
              f"{paired(end, col('full', lambda r, s: r['end'])) if arm != 'full' else '—'} | "
              f"{fmt(col(arm, lambda r, s: r['m']['p2d/select_s']), 1, 2)} | {fmt(col(arm, lambda r, s: r['m']['p2d/train_s']), 1, 2)} | "
              f"{fmt(col(arm, aer), 1, 2)} | {fmt(col(arm, lambda r, s: r['m'].get('p2d/trainable_frac')), 1, 3)} | "
              f"{fmt(ov, 1, 2) if any(x is not None for x in ov) else '—'} |")
    print()
    start = col("full", lambda r, s: r["start"])
    end = {arm: col(arm, lambda r, s: r["end"]) for arm in arms}
    print("| comparison (paired over seeds) | Δ points, mean ± std (criterion met?) |")
    print("|---|---|")
    for label, x, y in [("full − student start", end["full"], start), ("random_data − student start", end["random_data"], start),
                        ("p2d − full", end["p2d"], end["full"]), ("p2d − random_data", end["p2d"], end["random_data"]),
                        ("p2d − p2d_heads_random_data", end["p2d"], end["p2d_heads_random_data"]),
                        ("p2d − random_heads_p2d_data", end["p2d"], end["random_heads_p2d_data"]),
                        ("p2d_heads_random_data − student start", end["p2d_heads_random_data"], start),
                        ("p2d − student start", end["p2d"], start)] + \
                       [(f"{l} − p2d", end[l], end["p2d"]) for l in arms[len(ARMS):]]:
        print(f"| {label} | {paired(x, y)} |")
    print()
    print("| seed | t_full_sft s | " + " | ".join(f"{arm}: select + train s (AER)" for arm in arms[1:]) + " |")
    print("|---|---|" + "---|" * (len(arms) - 1))
    for s in a.seeds:
        cells = []
        for arm in arms[1:]:
            r = runs.get((arm, s))
            cells.append("—" if not r else f"{r['m']['p2d/select_s']:.1f} + {r['m']['p2d/train_s']:.1f} ({aer(r, s):.2f})")
        f = full_s(s)
        print(f"| {s} | {'—' if f is None else f'{f:.1f}'} | " + " | ".join(cells) + " |")
    print()
    print("| seed | P2D heads (arm p2d) | random heads (arm random_heads_p2d_data) | top head scores (W1) |")
    print("|---|---|---|---|")
    for s in a.seeds:
        def heads(arm):
            r = runs.get((arm, s))
            return ",".join(sorted(k.split("/")[-1] for k in r["m"] if k.startswith("p2d/head_selected/"))) if r else "—"
        r = runs.get(("p2d", s))
        top = ""
        if r:
            sc = sorted(((v, k.split("/")[-1]) for k, v in r["m"].items() if k.startswith("p2d/head_score/")), reverse=True)
            top = ", ".join(f"{h} {v:.2e}" for v, h in sc[:4])
        print(f"| {s} | {heads('p2d')} | {heads('random_heads_p2d_data')} | {top} |")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figdir = a.figures or os.path.join(a.dir, "figures")
    os.makedirs(figdir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, arm in enumerate(arms):
        xs, ys = col(arm, aer), col(arm, lambda r, s: r["end"])
        pts = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
        if not pts:
            continue
        ax.scatter([p[0] for p in pts], [100 * p[1] for p in pts], color=f"C{i}", alpha=0.45, s=14)
        (mx, sx), (my, sy) = ms([p[0] for p in pts]), ms([p[1] for p in pts])
        ax.errorbar(mx, 100 * my, xerr=sx, yerr=100 * sy, fmt="o", color=f"C{i}", capsize=4, label=arm)
    ax.set_xscale("log")
    ax.set_xlabel("AER = (select + train) / t_full_sft, log scale (lower is cheaper)")
    ax.set_ylabel("final val accuracy (%)")
    ax.set_title(f"P2D arms ({a.prefix}): mean ± std over seeds, dots = seeds", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, f"{a.prefix}-acc-vs-aer.png"), dpi=110)


if __name__ == "__main__":
    main()
