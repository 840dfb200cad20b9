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


def smooth(ys, w):
    """Trailing moving average over w points (w = 1: unchanged)."""
    return [statistics.mean(ys[max(0, i - w + 1):i + 1]) for i in range(len(ys))]


def window_mean(st, key, first):
    """Mean of `key` over the first (or last) 10 % of a run's steps."""
    xs = sorted(s for s in st if key in st[s])
    if not xs:
        return None
    n = max(1, len(xs) // 10)
    return statistics.mean(st[s][key] for s in (xs[:n] if first else xs[-n:]))


def pooled(st, num, den):
    """sum(num) / sum(den) over a run's steps (None when the denominator is 0)."""
    n = sum(d.get(num, 0) for d in st.values())
    d = sum(sum(x.get(k, 0) for k in den) for x in st.values())
    return n / d if d > 0 else None


def round_two(runs, modes, target):
    """Round two (Docs/Results-MOTAB.md §2): trigger precision against the base
    rate, the intervention rate early and late (H2), and H1's verdict."""
    out = ["", f"Triggers (pooled over each run's steps; mean ± std over seeds). Precision = ΣTP / Σ(TP + FP); "
           "recall = ΣTP / Σ(TP + missed); base error rate = judged rollouts with a student error (mean over steps); "
           "rate and depth over the first and last 10 % of steps.", ""]
    head = ["arm", "precision", "recall", "base error rate", "interventions/rollout first 10 %",
            "interventions/rollout last 10 %", "rollback depth first 10 %", "rollback depth last 10 %"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mode in modes:
        rs = [runs[k][0] for k in sorted(runs) if k[0] == mode]
        if not rs or not any("motab/interventions_per_rollout" in d for st in rs for d in st.values()):
            continue
        cols = [
            ([pooled(st, "motab/trigger_true_positives", ["motab/trigger_true_positives", "motab/trigger_false_positives"]) for st in rs], True),
            ([pooled(st, "motab/trigger_true_positives", ["motab/trigger_true_positives", "motab/missed_errors"]) for st in rs], True),
            ([statistics.mean(xs) if (xs := [d["motab/base_error_rate"] for d in st.values() if "motab/base_error_rate" in d]) else None
              for st in rs], True),
            ([window_mean(st, "motab/interventions_per_rollout", True) for st in rs], False),
            ([window_mean(st, "motab/interventions_per_rollout", False) for st in rs], False),
            ([window_mean(st, "motab/rollback_depth", True) for st in rs], False),
            ([window_mean(st, "motab/rollback_depth", False) for st in rs], False),
        ]
        out.append("| " + " | ".join([mode] + [fmt(*mean_std(v), pct=p) for v, p in cols]) + " |")

    key = f"val-core/{target}/acc/mean@1"
    final = {m: [runs[k][1][max(runs[k][1])].get(key) for k in sorted(runs) if k[0] == m] for m in modes}
    over = {m: [statistics.mean(e[key] for e in runs[k][1].values() if key in e) for k in sorted(runs) if k[0] == m]
            for m in modes}
    on_policy = [m for m in modes if m.startswith("on_policy")]
    randoms = [m for m in modes if m == "random" or m.startswith("random_")]

    def controls_of(mode):
        """On-policy distillation (each estimator) and the random trigger matched to `mode`'s
        rate (random_<x> for motab_<x>; every random arm when none is matched to it)."""
        matched = [r for r in randoms if r == "random_" + mode.removeprefix("motab_")]
        return on_policy + (matched or randoms)
    controls = on_policy + randoms
    for values, label in [(final, "final greedy accuracy (H1's verdict)"),
                          (over, "mean greedy accuracy over all evaluations (secondary: speed)")]:
        out += ["", f"On {target}, {label}: an arm passes a comparison when its mean exceeds the control's "
                "by more than the larger of the two standard deviations over seeds; a MOTAB arm is compared with "
                "on-policy distillation and the random trigger matched to its rate (every random arm if none is).", ""]
        out += ["| arm | value | " + " | ".join(f"− {c}" for c in controls) + " | all passed |",
                "|" + "---|" * (len(controls) + 3)]
        for mode in modes:
            if not values.get(mode):
                continue
            m, sd = mean_std(values[mode])
            if not mode.startswith("motab"):
                out.append(f"| {mode} | {fmt(m, sd)} |" + " |" * (len(controls) + 1))
                continue
            cells, ok = [], bool(controls)
            for c in controls:
                if c not in controls_of(mode):
                    cells.append("(not its control)")
                    continue
                cm, csd = mean_std(values.get(c, []))
                if m is None or cm is None:
                    cells.append("—"); ok = False
                    continue
                d, spread = m - cm, max(sd, csd)
                cells.append(f"{100 * d:+.1f} (spread {100 * spread:.1f})")
                ok = ok and d > spread
            out.append(f"| {mode} | {fmt(m, sd)} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'} |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exp")
    ap.add_argument("--modes", nargs="+", default=["motab", "on_policy", "sft"])
    ap.add_argument("--figures", default=None)
    ap.add_argument("--prefix", default="motab")
    ap.add_argument("--target", default=None,
                    help="round two: the target family (e.g. checked:6); adds the trigger table and the verdict")
    a = ap.parse_args()

    runs = {}
    for mode in a.modes:
        for path in sorted(glob.glob(os.path.join(a.exp, f"{mode}-s*", "metrics.jsonl"))):
            m = re.fullmatch(rf"{re.escape(mode)}-s(\d+)", os.path.basename(os.path.dirname(path)))
            if not m:
                continue   # another arm's prefix, or a kept copy (e.g. motab_student-s1-first)
            runs[(mode, int(m.group(1)))] = load(path)
    if not runs:
        raise SystemExit(f"no runs under {a.exp}")
    sources = sorted({k.split("/")[1] for _, ev in runs.values() for e in ev.values() for k in e
                      if k.startswith("val-core/") and k.endswith("/acc/mean@1") and k.split("/")[1] != "all"},
                     key=lambda s: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", s)])

    out = []
    # The teacher's accuracy: the recipe's evaluation of it on the study's families when there is one.
    tpath = next((p for p in (os.path.join(a.exp, "teacher-eval", "metrics.jsonl"), os.path.join(a.exp, "teacher", "metrics.jsonl"))
                  if os.path.exists(p)), "")
    if tpath:
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
    if a.target:
        out += round_two(runs, a.modes, a.target)
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
                if not st or not any(key in d for d in st.values()) or mode == "sft":
                    continue
                xs = sorted(s for s in st if key in st[s])
                ys = smooth([st[s][key] for s in xs], max(1, len(xs) // 50))
                ax.plot(xs, ys, color=f"C{a.modes.index(mode) % 10}", alpha=0.7,
                        label=f"{mode}" if seed == min(sd for (m, sd) in runs if m == mode) else None)
            ax.set_xlabel("step"); ax.set_title(label, fontsize=10)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(a.figures, f"{a.prefix}_training.png"), dpi=120)
        # Greedy accuracy over training, mean over seeds, one panel per source.
        fig, axes = plt.subplots(1, len(sources), figsize=(4.5 * len(sources), 3.2), squeeze=False)
        for ax, s in zip(axes[0], sources):
            for mode in a.modes:
                evs = [ev for (m, _), (_, ev) in runs.items() if m == mode]
                if not evs:
                    continue
                xs = sorted(set.intersection(*[set(ev) for ev in evs]))
                ys = [100 * statistics.mean(ev[x].get(f"val-core/{s}/acc/mean@1", 0) for ev in evs) for x in xs]
                ax.plot(xs, ys, marker=".", color=f"C{a.modes.index(mode) % 10}", label=mode)
            ax.set_xlabel("step"); ax.set_ylabel("greedy accuracy (%)"); ax.set_title(s, fontsize=10)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(a.figures, f"{a.prefix}_curves.png"), dpi=120)
        print(f"\nfigures: {a.figures}/{a.prefix}_accuracy.png, {a.figures}/{a.prefix}_training.png, "
              f"{a.figures}/{a.prefix}_curves.png")


if __name__ == "__main__":
    main()
