#!/usr/bin/env python3
"""Tables and plots of a Token Priority experiment (Launch/priority-experiment.sh).

    python3 Launch/priority_report.py runs --seeds 1 2 3 --figures Docs/figures

Reads <dir>/priority-<testbed>-<mode>-s<seed>/metrics.jsonl and prints
Markdown: per arm the final greedy validation accuracy (mean ± sample std over
seeds, and each seed), the paired difference from the testbed's `uniform` arm
and from its `random` control, with the protocol's criterion (mean > 2 × std
of the paired differences), the toxic-answer rate on the toxic testbed, and
how much corruption each arm's Φ keeps. Writes <figures>/priority-accuracy.png
(bars with error bars and per-seed points) and priority-train-acc.png
(training accuracy over steps).
"""
import argparse
import json
import os
import statistics as st

ARMS = [("clean", "uniform"), ("noise", "uniform"), ("noise", "hard"), ("noise", "random"), ("noise", "rho1"),
        ("noise", "soft"), ("toxic", "uniform"), ("toxic", "hard"), ("toxic", "random"), ("toxic", "signed")]


COLORS = {"clean": "C0", "uniform": "C1", "hard": "C2", "random": "C3", "rho1": "C4", "soft": "C5", "signed": "C6"}


def load(path):
    out = {"acc": None, "toxic": None, "train": [], "first": {}}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            d, s = r["data"], r["step"]
            # step 0 is the evaluation before training: a run that has not reached its last one is left out
            if "val-core/all/acc/mean@1" in d and s > 0:
                out["acc"] = d["val-core/all/acc/mean@1"]
            if "priority/val_toxic_rate" in d and s > 0:
                out["toxic"] = d["priority/val_toxic_rate"]
            if "priority/train_acc" in d:
                out["train"].append((s, d["priority/train_acc"]))
            if "priority/kept_frac" in d and not out["first"]:
                out["first"] = d
    return out


def ms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    return st.mean(xs), (st.stdev(xs) if len(xs) > 1 else 0.0)


def pct(xs):
    m, s = ms(xs)
    return "—" if m is None else f"{100 * m:.1f} ± {100 * s:.1f}"


def paired(a, b, lower_is_better=False):
    """'Δ mean ± std (yes/no)' of the paired differences a − b over seeds present in both."""
    diffs = [x - y for x, y in zip(a, b) if x is not None and y is not None]
    if len(diffs) < 2:
        return "—"
    m, s = ms(diffs)
    good = (m < 0 and -m > 2 * s) if lower_is_better else (m > 0 and m > 2 * s)
    return f"{100 * m:+.1f} ± {100 * s:.1f} ({'yes' if good else 'no'})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seeds", nargs="+", default=["1", "2", "3"])
    ap.add_argument("--figures", default=None, help="where the PNGs go (default <dir>/figures)")
    a = ap.parse_args()
    runs = {}
    for tb, mode in ARMS:
        for s in a.seeds:
            p = os.path.join(a.dir, f"priority-{tb}-{mode}-s{s}", "metrics.jsonl")
            if os.path.exists(p):
                runs[(tb, mode, s)] = load(p)

    def col(tb, mode, key):
        return [runs[(tb, mode, s)][key] if (tb, mode, s) in runs else None for s in a.seeds]

    print("Final greedy validation accuracy (%, 200 held-out problems; mean ± sample std over seeds "
          + " ".join(a.seeds) + "). Δ columns: paired difference, mean ± std, and whether mean > 2 × std.")
    print()
    print("| testbed | arm | final val acc | per seed | Δ vs uniform | Δ vs random |")
    print("|---|---|---|---|---|---|")
    for tb, mode in ARMS:
        acc = col(tb, mode, "acc")
        if all(x is None for x in acc):
            continue
        per = ", ".join("—" if x is None else f"{100 * x:.1f}" for x in acc)
        dv = paired(acc, col(tb, "uniform", "acc")) if tb != "clean" and mode != "uniform" else "—"
        dr = paired(acc, col(tb, "random", "acc")) if tb != "clean" and mode not in ("uniform", "random") else "—"
        print(f"| {tb} | {mode} | {pct(acc)} | {per} | {dv} | {dr} |")
    print()
    print("Corruption in the data: clean:uniform − noise:uniform "
          + paired(col("clean", "uniform", "acc"), col("noise", "uniform", "acc"))
          + "; clean:uniform − toxic:uniform " + paired(col("clean", "uniform", "acc"), col("toxic", "uniform", "acc")))
    print()
    print("Toxic testbed: share of greedy answers (64 validation prompts) that are the toxic answer (true + 1), final model.")
    print()
    print("| arm | toxic-answer rate (%) | per seed | Δ vs uniform (lower is better) |")
    print("|---|---|---|---|")
    for mode in ("uniform", "hard", "random", "signed"):
        tox = col("toxic", mode, "toxic")
        if all(x is None for x in tox):
            continue
        per = ", ".join("—" if x is None else f"{100 * x:.1f}" for x in tox)
        dv = paired(tox, col("toxic", "uniform", "toxic"), lower_is_better=True) if mode != "uniform" else "—"
        print(f"| {mode} | {pct(tox)} | {per} | {dv} |")
    print()
    print("What each Φ keeps (step 0; for rho1/soft the first of the recomputations, mean over seeds).")
    print()
    print("| testbed | arm | kept frac | corrupted share of data | corrupted share of kept tokens | corrupted share of positive weight |")
    print("|---|---|---|---|---|---|")
    for tb, mode in ARMS:
        if tb == "clean":
            continue
        firsts = [runs[(tb, mode, s)]["first"] for s in a.seeds if (tb, mode, s) in runs]
        if not firsts:
            continue

        def avg(k):
            v = [f[k] for f in firsts if k in f]
            return f"{st.mean(v):.3f}" if v else "—"
        print(f"| {tb} | {mode} | {avg('priority/kept_frac')} | {avg(f'priority/{tb}_frac')} | "
              f"{avg(f'priority/{tb}_in_kept')} | {avg(f'priority/{tb}_weight_share')} |")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figdir = a.figures or os.path.join(a.dir, "figures")
    os.makedirs(figdir, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), gridspec_kw={"width_ratios": [6, 5, 4]})
    panels = [("noise testbed: final val acc", ["clean:uniform", "noise:uniform", "noise:hard", "noise:random",
                                               "noise:rho1", "noise:soft"], "acc"),
              ("toxic testbed: final val acc", ["clean:uniform", "toxic:uniform", "toxic:hard", "toxic:random",
                                               "toxic:signed"], "acc"),
              ("toxic testbed: toxic-answer rate", ["toxic:uniform", "toxic:hard", "toxic:random", "toxic:signed"], "toxic")]
    for ax, (title, names, key) in zip(axes, panels):
        for i, name in enumerate(names):
            tb, mode = name.split(":")
            vals = [x for x in col(tb, mode, key) if x is not None]
            if not vals:
                continue
            m, s = ms(vals)
            ax.bar(i, 100 * m, yerr=100 * s, capsize=4, color=COLORS[mode if tb != "clean" else "clean"], alpha=0.6)
            ax.scatter([i] * len(vals), [100 * v for v in vals], color="k", s=10, zorder=3)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([n.split(":")[1] if not n.startswith("clean") else "clean" for n in names], rotation=30)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("%")
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, "priority-accuracy.png"), dpi=110)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, tb in zip(axes, ("noise", "toxic")):
        for i, (t, mode) in enumerate([x for x in ARMS if x[0] in ("clean", tb)]):
            for j, s in enumerate(a.seeds):
                r = runs.get((t, mode, s))
                if not r or not r["train"]:
                    continue
                ax.plot([p[0] for p in r["train"]], [100 * p[1] for p in r["train"]],
                        color=COLORS[mode if t != "clean" else "clean"], alpha=0.7,
                        label=f"{t}:{mode}" if j == 0 else None)
        ax.set_title(f"{tb} testbed: training accuracy (64 training prompts)", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("%")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, "priority-train-acc.png"), dpi=110)


if __name__ == "__main__":
    main()
