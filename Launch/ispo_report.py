#!/usr/bin/env python3
"""Table and plots of the GRPO-vs-ISPO experiment (Launch/ispo-experiment.sh).

Reads runs/<exp>/<arm>-s<seed>/metrics.jsonl and prints a markdown report:
final greedy accuracy per family (mean ± std over seeds), the zero-advantage
and hallucinated-certainty diagnostics, and the step cost. With --doc it
replaces the part of that file between `<!-- ispo-table:start -->` and
`<!-- ispo-table:end -->`; plots go to --figures.

    python3 Launch/ispo_report.py runs/ispo-exp --arms grpo ispo grpo-drgrpo ispo-drgrpo \
        --doc Docs/Results-ISPO.md --section ispo-lr1e-4 --figures Docs/figures --prefix ispo_lr1e-4
"""
import argparse
import glob
import json
import os
import re
import statistics

from report_common import load_run, mean_std
import sys


def load(path):
    return load_run(path, "actor/grad_norm")


def fmt(ms, pct=False, digits=3):
    m, s = ms
    if m is None:
        return "–"
    if pct:
        return f"{100 * m:.1f} ± {100 * s:.1f}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def window_mean(steps, key, first, last):
    """Mean of a step metric over the RL steps first..last (inclusive)."""
    vals = [d[key] for s, d in steps.items() if first <= s <= last and key in d]
    return statistics.mean(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exp", help="experiment folder, e.g. runs/ispo-exp")
    ap.add_argument("--arms", nargs="+", default=["grpo", "ispo"])
    ap.add_argument("--doc", help="markdown file whose <section> part is replaced")
    ap.add_argument("--section", default="ispo-table", help="marker name in --doc (default ispo-table)")
    ap.add_argument("--prefix", default="ispo", help="file-name prefix of the plots (default ispo)")
    ap.add_argument("--figures", help="folder for the PNG plots")
    ap.add_argument("--window", type=int, default=5, help="steps averaged for 'early' and 'late' (default 5)")
    args = ap.parse_args()

    runs = {}  # arm -> seed -> (steps, evals)
    for arm in args.arms:
        for path in sorted(glob.glob(os.path.join(args.exp, f"{arm}-s*", "metrics.jsonl"))):
            seed = int(re.search(r"-s(\d+)$", os.path.dirname(path)).group(1))
            runs.setdefault(arm, {})[seed] = load(path)
    missing = [a for a in args.arms if a not in runs]
    if missing:
        sys.exit(f"ispo_report: no runs for arm(s) {missing} under {args.exp}: expected {args.exp}/<arm>-s<seed>/metrics.jsonl; "
                 "run Launch/ispo-experiment.sh first")

    any_run = next(iter(next(iter(runs.values())).values()))
    last_eval = max(any_run[1])
    families = sorted({k.split("/")[1] for k in any_run[1][last_eval] if k.startswith("val-core/") and "/acc/mean@1" in k} - {"all"})
    total = max(any_run[0])
    w = args.window
    seeds = sorted({s for a in runs.values() for s in a})

    out = []
    out.append(f"Seeds {', '.join(map(str, seeds))}; {total} RL steps after the SFT warm start; "
               f"greedy accuracy on 64 held-out prompts per family. Mean ± std over seeds.\n")
    out.append(f"**Greedy accuracy (%)**, after SFT (step 0) and after RL (step {last_eval}):\n")
    out.append("| family | collapse rate (GRPO) | " + " | ".join(f"{a} step 0 | {a} step {last_eval}" for a in args.arms) + " |")
    out.append("|---|---|" + "---|---|" * len(args.arms))
    for fam in families + ["all"]:
        key = f"val-core/{fam}/acc/mean@1"
        collapse = "–"
        if "grpo" in runs and fam != "all":
            collapse = fmt(mean_std([window_mean(st, f"train/{fam}/frac_reward_zero_std", 1, total)
                                     for st, _ in runs["grpo"].values()]), pct=True)
        cells = []
        for a in args.arms:
            cells.append(fmt(mean_std([ev.get(0, {}).get(key) for _, ev in runs[a].values()]), pct=True))
            cells.append(fmt(mean_std([ev.get(last_eval, {}).get(key) for _, ev in runs[a].values()]), pct=True))
        out.append(f"| {fam} | {collapse} | " + " | ".join(cells) + " |")
    out.append("\nCollapse rate: the fraction of the family's training groups whose outcomes were all equal, over all RL steps.\n")

    out.append(f"**Diagnostics** (means over steps; early = steps 1–{w}, late = steps {total - w + 1}–{total}):\n")
    rows = [
        ("outcome-level zero-std fraction", "frac_reward_zero_std", 1, total, False),
        ("effective zero-advantage fraction", "effective_zero_adv_frac", 1, total, False),
        ("‖g‖ from equal-outcome groups", "ispo/grad_norm_equal_groups", 1, total, False),
        ("‖g‖ total", "actor/grad_norm", 1, total, False),
        ("π on critical tokens of wrong rollouts, early", "ispo/wrong_critical_prob", 1, w, False),
        ("π on critical tokens of wrong rollouts, late", "ispo/wrong_critical_prob", total - w + 1, total, False),
        ("wrong answers with answer π > 0.9, early", "ispo/wrong_confident_frac", 1, w, True),
        ("wrong answers with answer π > 0.9, late", "ispo/wrong_confident_frac", total - w + 1, total, True),
        ("sequence information I, correct rollouts", "ispo/seq_info_correct", 1, total, False),
        ("sequence information I, wrong rollouts", "ispo/seq_info_wrong", 1, total, False),
        ("critical-set size (tokens)", "ispo/critical_set_size", 1, total, False),
        ("training outcome accuracy, late", "train/outcome_acc", total - w + 1, total, True),
    ]
    out.append("| measure | " + " | ".join(args.arms) + " |")
    out.append("|---|" + "---|" * len(args.arms))
    for label, key, a0, a1, pct in rows:
        cells = [fmt(mean_std([window_mean(st, key, a0, a1) for st, _ in runs[a].values()]), pct=pct) for a in args.arms]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    report = "\n".join(out) + "\n"
    print(report)
    # Timings depend on the machine and its load: printed, but kept out of the reproducible table.
    print("Timing on this machine (not part of the reproducible table; see `ispo-cluster bench ispo` for the cost ratio):")
    for label, key in [("step time (s)", "timing_s/step"), ("generation (s/step)", "timing_s/gen"),
                       ("signal passes (s/step)", "timing_s/ispo_signals"), ("update (s/step)", "timing_s/update_actor")]:
        cells = [fmt(mean_std([window_mean(st, key, 1, total) for st, _ in runs[a].values()])) for a in args.arms]
        print(f"  {label}: " + ", ".join(f"{a} {c}" for a, c in zip(args.arms, cells)))

    if args.doc:
        text = open(args.doc).read() if os.path.exists(args.doc) else ""
        start, end = f"<!-- {args.section}:start -->", f"<!-- {args.section}:end -->"
        block = f"{start}\n{report}{end}"
        if start in text and end in text:
            text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text += "\n" + block + "\n"
        with open(args.doc, "w") as f:
            f.write(text)
        print(f"updated {args.doc}", file=sys.stderr)

    if args.figures:
        plot(runs, args.arms, families, args.figures, args.prefix)


def series(runs, arm, key, source="steps"):
    """Mean over seeds of a metric at each step where every seed has it."""
    per_seed = [st if source == "steps" else ev for st, ev in runs[arm].values()]
    common = sorted(set.intersection(*[{s for s, d in p.items() if key in d} for p in per_seed]))
    return common, [statistics.mean(p[s][key] for p in per_seed) for s in common]


def plot(runs, arms, families, folder, prefix):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(folder, exist_ok=True)
    colors = dict(zip(arms, ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:gray"]))

    fig, axes = plt.subplots(1, len(families), figsize=(4 * len(families), 3.2), squeeze=False)
    for ax, fam in zip(axes[0], families):
        for a in arms:
            x, y = series(runs, a, f"val-core/{fam}/acc/mean@1", source="evals")
            ax.plot(x, [100 * v for v in y], marker="o", color=colors[a], label=a)
        ax.set_title(fam); ax.set_xlabel("RL step"); ax.set_ylabel("greedy accuracy (%)"); ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout(); fig.savefig(os.path.join(folder, f"{prefix}_accuracy.png"), dpi=110); plt.close(fig)

    def panel_figure(panels, name):
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
        for ax, (key, title) in zip(axes, panels):
            for a in arms:
                x, y = series(runs, a, key)
                ax.plot(x, y, color=colors[a], label=a)
            ax.set_title(title); ax.set_xlabel("RL step"); ax.grid(alpha=0.3)
        axes[0].legend()
        fig.tight_layout(); fig.savefig(os.path.join(folder, f"{prefix}_{name}.png"), dpi=110); plt.close(fig)

    panel_figure([("frac_reward_zero_std", "outcome-level zero-std fraction"),
                  ("effective_zero_adv_frac", "effective zero-advantage fraction"),
                  ("ispo/grad_norm_equal_groups", "‖g‖ from equal-outcome groups")], "zero_advantage")
    panel_figure([("ispo/wrong_critical_prob", "π on critical tokens, wrong rollouts"),
                  ("ispo/wrong_confident_frac", "wrong answers with answer π > 0.9"),
                  ("train/outcome_acc", "training outcome accuracy")], "certainty")
    print(f"plots in {folder}/{prefix}_accuracy.png, {prefix}_zero_advantage.png, {prefix}_certainty.png", file=sys.stderr)


if __name__ == "__main__":
    main()
