#!/usr/bin/env python3
"""Table and plots of the MOTAB experiment (Launch/motab-experiment.sh).

Reads runs/<exp>/<mode>-s<seed>/metrics.jsonl (and teacher/metrics.jsonl) and
prints a markdown report: greedy accuracy per validation source at step 0 and
at the end (mean ± std over seeds), MOTAB's intervention rate, rollback depth,
teacher-token fraction and trigger precision/recall over training. Plots go to
--figures (PNG).

    python3 Launch/motab_report.py runs/motab-exp --modes motab on_policy sft --figures Docs/figures
"""
import argparse
import glob
import json
import os
import re
import statistics

from report_common import load_run, mean_std


def load(path):
    return load_run(path, "timing_s/step")


def fmt(m, s, pct=True):
    if m is None:
        return "—"
    return f"{100 * m:.1f} ± {100 * s:.1f}" if pct else f"{m:.2f} ± {s:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exp")
    ap.add_argument("--modes", nargs="+", default=["motab", "on_policy", "sft"])
    ap.add_argument("--figures", default=None)
    ap.add_argument("--prefix", default="motab")
    a = ap.parse_args()

    runs = {}
    for mode in a.modes:
        for path in sorted(glob.glob(os.path.join(a.exp, f"{mode}-s*", "metrics.jsonl"))):
            seed = int(re.search(r"-s(\d+)$", os.path.dirname(path)).group(1))
            runs[(mode, seed)] = load(path)
    if not runs:
        raise SystemExit(f"no runs under {a.exp}")
    sources = sorted({k.split("/")[1] for _, ev in runs.values() for e in ev.values() for k in e
                      if k.startswith("val-core/") and k.endswith("/acc/mean@1") and k.split("/")[1] != "all"},
                     key=lambda s: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", s)])

    out = []
    tpath = os.path.join(a.exp, "teacher", "metrics.jsonl")
    if os.path.exists(tpath):
        _, tev = load(tpath)
        last = tev[max(tev)]
        out.append("Teacher (greedy, held-out): " + ", ".join(
            f"{s} {100 * last.get(f'val-core/{s}/acc/mean@1', float('nan')):.1f}%" for s in sources))
        out.append("")
    seeds = sorted({s for (_, s) in runs})
    out.append(f"Seeds: {', '.join(map(str, seeds))}. Greedy accuracy (%) on held-out prompts, mean ± std over seeds.")
    out.append("")
    head = ["mode", "runs"] + [f"{s} start" for s in sources] + [f"{s} end" for s in sources] + \
        ["interventions/rollout", "rollback depth", "teacher-token frac", "trigger P", "trigger R", "s/step"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for mode in a.modes:
        rs = [runs[k] for k in sorted(runs) if k[0] == mode]
        if not rs:
            continue
        row = [mode, str(len(rs))]
        for which in ("start", "end"):
            for s in sources:
                vals = []
                for _, ev in rs:
                    e = ev[min(ev)] if which == "start" else ev[max(ev)]
                    vals.append(e.get(f"val-core/{s}/acc/mean@1"))
                row.append(fmt(*mean_std(vals)))
        for key, pct in [("motab/interventions_per_rollout", False), ("motab/rollback_depth", False),
                         ("motab/teacher_token_frac", True), ("motab/trigger_precision", True),
                         ("motab/trigger_recall", True), ("timing_s/step", False)]:
            vals = []
            for st, _ in rs:
                xs = [d[key] for d in st.values() if key in d]
                vals.append(statistics.mean(xs) if xs else None)
            row.append(fmt(*mean_std(vals), pct=pct))
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("MOTAB columns: the mean over a run's steps of the per-step value, then mean ± std over seeds (trigger P/R: steps where defined).")
    print("\n".join(out))

    if a.figures:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        os.makedirs(a.figures, exist_ok=True)
        # Final accuracy per mode and source.
        fig, ax = plt.subplots(figsize=(6, 3.5))
        width = 0.8 / max(1, len(sources))
        for j, s in enumerate(sources):
            ms, ss = [], []
            for mode in a.modes:
                vals = [ev[max(ev)].get(f"val-core/{s}/acc/mean@1") for (m, _), (_, ev) in runs.items() if m == mode]
                m, sd = mean_std(vals)
                ms.append(100 * (m or 0)); ss.append(100 * (sd or 0))
            xs = [i + j * width for i in range(len(a.modes))]
            ax.bar(xs, ms, width, yerr=ss, capsize=3, label=s)
        ax.set_xticks([i + width * (len(sources) - 1) / 2 for i in range(len(a.modes))])
        ax.set_xticklabels(a.modes)
        ax.set_ylabel("greedy accuracy after distillation (%)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(a.figures, f"{a.prefix}_accuracy.png"), dpi=120)
        # MOTAB's numbers over training, one line per seed.
        keys = [("motab/interventions_per_rollout", "interventions / rollout"), ("motab/rollback_depth", "rollback depth (tokens)"),
                ("motab/teacher_token_frac", "teacher-token fraction"), ("train/outcome_acc", "train rollout accuracy")]
        fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2))
        for ax, (key, label) in zip(axes, keys):
            for (mode, seed), (st, _) in sorted(runs.items()):
                if mode not in ("motab", "on_policy") or not st:
                    continue
                xs = sorted(s for s in st if key in st[s])
                ax.plot(xs, [st[s][key] for s in xs], color="C0" if mode == "motab" else "C1", alpha=0.8,
                        label=f"{mode} s{seed}")
            ax.set_xlabel("step"); ax.set_title(label, fontsize=10)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(a.figures, f"{a.prefix}_training.png"), dpi=120)
        print(f"\nfigures: {a.figures}/{a.prefix}_accuracy.png, {a.figures}/{a.prefix}_training.png")


if __name__ == "__main__":
    main()
