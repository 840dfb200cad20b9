#!/usr/bin/env python3
"""Table and plots of Launch/mot-experiment.sh: greedy accuracy per arm
(MoT, best single teacher, union of traces) and level, mean ± std over seeds,
after every round; the teachers' own accuracy for reference.

    python3 Launch/mot_report.py --seeds 1 2 3 --arms none single union
Writes runs/mot-results.md and Docs/figures/mot-accuracy.png."""
import argparse, json, os, statistics

ARM_NAMES = {"none": "MoT (uniform merge)", "single": "best single teacher", "union": "union of traces"}
LEVELS = ["addition:3", "addition:4", "addition:5"]


def read(path):
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def evals(rows):
    """step -> {level: acc} from the evaluation lines."""
    out = {}
    for r in rows:
        d = r.get("data", {})
        for lv in LEVELS:
            k = f"val-core/{lv}/acc/mean@1"
            if k in d:
                out.setdefault(r["step"], {})[lv] = d[k]
    return out


def fmt(xs):
    if not xs:
        return "—"
    m = 100 * statistics.mean(xs)
    s = 100 * statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{m:.1f} ± {s:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", default=["1", "2", "3"])
    ap.add_argument("--arms", nargs="+", default=["none", "single", "union"])
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--out", default="runs/mot-results.md")
    ap.add_argument("--figure", default="Docs/figures/mot-accuracy.png")
    a = ap.parse_args()

    lines = ["| model | " + " | ".join(f"{lv} acc % " for lv in LEVELS) + " | runs |", "|---|" + "---|" * (len(LEVELS) + 1)]
    for s in range(3):
        rows = read(f"{a.runs}/mot-teacher-style{s}/metrics.jsonl")
        ev = evals(rows)
        if ev:
            last = ev[max(ev)]
            lines.append(f"| teacher style {s} (dim 128, 4 layers) | " + " | ".join(
                f"{100 * last[lv]:.1f}" if lv in last else "—" for lv in LEVELS) + " | 1 |")
    curves = {}
    extra = []
    for arm in a.arms:
        per_seed = []
        for seed in a.seeds:
            rows = read(f"{a.runs}/mot-{arm}-seed{seed}/metrics.jsonl")
            ev = evals(rows)
            if ev:
                per_seed.append(ev)
            for r in rows:
                d = r.get("data", {})
                if "mot/steps_per_round" in d:
                    tr = [int(d.get(f"mot/teacher_{k}/traces", 0)) for k in range(3)]
                    extra.append(f"- {arm}, seed {seed}: correct traces per teacher {tr}, "
                                 f"{int(d['mot/steps_per_round'])} optimizer steps per round, best teacher {int(d.get('mot/best_teacher', -1))}")
        if not per_seed:
            continue
        final = {lv: [ev[max(ev)][lv] for ev in per_seed if lv in ev[max(ev)]] for lv in LEVELS}
        lines.append(f"| student: {ARM_NAMES.get(arm, arm)} (final round) | " + " | ".join(fmt(final[lv]) for lv in LEVELS)
                     + f" | {len(per_seed)} |")
        steps = sorted(set().union(*[set(ev) for ev in per_seed]))
        curves[arm] = {lv: [(st, [ev[st][lv] for ev in per_seed if st in ev and lv in ev[st]]) for st in steps] for lv in LEVELS}
    text = "\n".join(lines) + "\n\n" + "\n".join(extra) + "\n"
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    open(a.out, "w").write(text)
    print(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, axes = plt.subplots(1, len(LEVELS), figsize=(4.2 * len(LEVELS), 3.4), sharey=True)
    for ax, lv in zip(axes, LEVELS):
        for arm, c in curves.items():
            pts = [(st, xs) for st, xs in c[lv] if xs]
            if not pts:
                continue
            xs = [p[0] for p in pts]
            m = [100 * statistics.mean(p[1]) for p in pts]
            lo = [100 * min(p[1]) for p in pts]
            hi = [100 * max(p[1]) for p in pts]
            ax.plot(xs, m, marker="o", label=ARM_NAMES.get(arm, arm))
            ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.set_title(lv + (" (in distribution)" if lv == LEVELS[0] else " (OOD)"))
        ax.set_xlabel("round")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("greedy accuracy % (mean, min–max over seeds)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(a.figure) or ".", exist_ok=True)
    fig.savefig(a.figure, dpi=120)
    print("wrote", a.figure)


if __name__ == "__main__":
    main()
