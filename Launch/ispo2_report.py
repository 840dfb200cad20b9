#!/usr/bin/env python3
"""Round-two tables of Docs/Results-ISPO.md (Launch/ispo2-experiment.sh).

Reads <exp>/<arm>-s<seed>/metrics.jsonl (runs/ispo2 by default) and prints
markdown: pass@1 (avg@8) and pass@8 per family at step 0 and at the last
evaluation, the gains (and greedy pass@1 the same way when the runs logged
greedy@1, rollout.val_kwargs.greedy_pass), the hypothesis measures (a)(b)(c) with their verdicts
under the protocol's thresholds, the diagnostics, and step time ÷ GRPO's.

    python3 Launch/ispo2_report.py runs/ispo2 --arms grpo drgrpo ispo-seq ispo-tok seq-only tok-only jitter
"""
import argparse
import glob
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from report_common import load_run, mean_std  # noqa: E402


def fmt(ms, scale=1.0, digits=1):
    m, s = ms
    if m is None:
        return "–"
    return f"{scale * m:.{digits}f} ± {scale * s:.{digits}f}"


def step_mean(steps, key, lo=None, hi=None):
    vals = [d[key] for s, d in steps.items() if key in d and (lo is None or s >= lo) and (hi is None or s <= hi)]
    return statistics.mean(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exp", nargs="?", default="runs/ispo2")
    ap.add_argument("--arms", nargs="+", default=["grpo", "drgrpo", "ispo-seq", "ispo-tok", "seq-only", "tok-only", "jitter"])
    ap.add_argument("--steps", type=int, default=None,
                    help="count a run only when it logged this step (a finished run); default: any run with an evaluation")
    ap.add_argument("--common-seeds", action="store_true",
                    help="keep only the seeds on which every arm of --arms finished (the cost-only arms excepted)")
    ap.add_argument("--figure", help="PNG: confident wrong answers over the steps and pass@1 of the hardest family per evaluation")
    ap.add_argument("--cost-arms", nargs="*", default=[],
                    help="arms shown only in the cost rows, on the seeds they have (e.g. grpo-nosig)")
    args = ap.parse_args()
    runs = {}
    for arm in args.arms + args.cost_arms:
        for path in sorted(glob.glob(os.path.join(args.exp, f"{arm}-s*", "metrics.jsonl"))):
            seed = int(re.search(r"-s(\d+)$", os.path.dirname(path)).group(1))
            steps, evals = load_run(path, "actor/grad_norm")
            if steps and evals and (args.steps is None or (args.steps in steps and args.steps in evals)):
                runs.setdefault(arm, {})[seed] = (steps, evals)
    cost_runs = {a: runs.pop(a) for a in args.cost_arms if a in runs}
    if args.common_seeds and runs:
        found = set.union(*(set(runs.get(a, {})) for a in args.arms))
        common = set.intersection(*(set(runs.get(a, {})) for a in args.arms))
        if found - common:
            print(f"Seeds left out (not every arm finished): {sorted(found - common)}.\n")
        runs = {a: {s: r for s, r in runs[a].items() if s in common} for a in runs}
        runs = {a: r for a, r in runs.items() if r}
    arms = [a for a in args.arms if a in runs]
    if not arms:
        sys.exit(f"no finished runs under {args.exp}")
    seeds = sorted({s for a in arms for s in runs[a]})
    last_step = {a: {s: max(runs[a][s][0]) for s in runs[a]} for a in arms}
    families = sorted({k.split("/")[1] for a in arms for s in runs[a] for e in runs[a][s][1].values()
                       for k in e if k.startswith("val-core/") and k.split("/")[1] != "all"})
    n_eval = max(int(k.rsplit("@", 1)[1]) for a in arms for s in runs[a] for e in runs[a][s][1].values()
                 for k in e if "/acc/mean@" in k)
    greedy = any(k.endswith("/acc/greedy@1") for a in arms for s in runs[a] for e in runs[a][s][1].values() for k in e)
    print(f"Arms with finished runs: {', '.join(f'{a} (seeds {sorted(runs[a])}, {min(last_step[a].values())} steps)' for a in arms)}. "
          f"Mean ± sample std over seeds. pass@1 = avg@{n_eval} at T = 0.6, pass@{n_eval} unbiased; "
          + ("greedy pass@1 = one greedy answer per prompt, in the same evaluations; " if greedy else "")
          + "64 held-out prompts per family.\n")

    def ev(arm, seed, fam, metric, which):
        evals = runs[arm][seed][1]
        s = min(evals) if which == "first" else max(evals)
        return evals[s].get(f"val-core/{fam}/acc/{metric}")

    def per_seed(arm, f):
        return [f(arm, s) for s in sorted(runs[arm])]

    # Collapse rate per family under GRPO (or the first arm).
    base = "grpo" if "grpo" in runs else arms[0]
    collapse = {fam: mean_std(per_seed(base, lambda a, s: step_mean(runs[a][s][0], f"train/{fam}/frac_reward_zero_std")))
                for fam in families}
    hardest = max(families, key=lambda f: collapse[f][0] or 0)
    tables = [(f"mean@{n_eval}", "pass@1"), (f"pass@{n_eval}", f"pass@{n_eval}")] + ([("greedy@1", "greedy pass@1")] if greedy else [])

    def gain(a, s, fam, metric):
        first, last = ev(a, s, fam, metric, "first"), ev(a, s, fam, metric, "last")
        if metric == "greedy@1":  # absent in runs from before the key: no gain rather than a made-up one
            return None if first is None or last is None else last - first
        return (last or 0) - (first or 0)

    for metric, label in tables:
        print(f"**{label} (%)**, step 0 → last evaluation (gain):\n")
        print("| arm | " + " | ".join(f"{fam} (collapse {fmt(collapse[fam], 100, 0)} %)" for fam in families) + " |")
        print("|---|" + "---|" * len(families))
        for arm in arms:
            cells = []
            for fam in families:
                first = mean_std(per_seed(arm, lambda a, s: ev(a, s, fam, metric, "first")))
                last = mean_std(per_seed(arm, lambda a, s: ev(a, s, fam, metric, "last")))
                g = mean_std(per_seed(arm, lambda a, s: gain(a, s, fam, metric)))
                cells.append(f"{fmt(first, 100)} → {fmt(last, 100)} ({fmt(g, 100)})")
            print(f"| {arm} | " + " | ".join(cells) + " |")
        print()

    # Hypotheses.
    print(f"**Hypotheses** (hardest family: {hardest}):\n")

    def window(arm, seed, key, part):
        steps = runs[arm][seed][0]
        n = last_step[arm][seed]
        w = max(1, n // 10)
        return step_mean(steps, key, 1, w) if part == "early" else step_mean(steps, key, n - w + 1, n)

    print("| arm | (a) Spearman ρ, all-wrong groups (mean ± std; SE) | ρ of r_tok alone | ρ of I alone | groups/step | "
          "(b) confident wrong, early → late (%) | late − early (pp) |")
    print("|---|---|---|---|---|---|---|")
    for arm in arms:
        rho = per_seed(arm, lambda a, s: step_mean(runs[a][s][0], "ispo/spearman_intrinsic_vs_partial"))
        m = mean_std(rho)
        se = (m[1] / math.sqrt(len([r for r in rho if r is not None]))) if m[0] is not None else None
        tok = mean_std(per_seed(arm, lambda a, s: step_mean(runs[a][s][0], "ispo/spearman_tok_vs_partial")))
        info = mean_std(per_seed(arm, lambda a, s: step_mean(runs[a][s][0], "ispo/spearman_seqinfo_vs_partial")))
        groups = mean_std(per_seed(arm, lambda a, s: step_mean(runs[a][s][0], "ispo/spearman_groups")))
        early = mean_std(per_seed(arm, lambda a, s: window(a, s, "ispo/wrong_confident_frac", "early")))
        late = mean_std(per_seed(arm, lambda a, s: window(a, s, "ispo/wrong_confident_frac", "late")))
        diff = mean_std(per_seed(arm, lambda a, s: (window(a, s, "ispo/wrong_confident_frac", "late") or 0)
                                 - (window(a, s, "ispo/wrong_confident_frac", "early") or 0)))
        verdict = "–" if m[0] is None else ("passes" if m[0] > 0 and se is not None and m[0] > 2 * se else "fails")
        print(f"| {arm} | {fmt(m, 1, 3)}; SE {se if se is None else f'{se:.3f}'} ({verdict}) | {fmt(tok, 1, 3)} | {fmt(info, 1, 3)} | "
              f"{fmt(groups, 1, 1)} | {fmt(early, 100)} → {fmt(late, 100)} | {fmt(diff, 100)} |")
    print()

    def gains(arm, metric):
        return per_seed(arm, lambda a, s: (ev(a, s, hardest, metric, "last") or 0) - (ev(a, s, hardest, metric, "first") or 0))

    lines = []
    for ispo in [a for a in ("ispo-seq", "ispo-tok") if a in runs]:
        for metric, label in ((f"mean@{n_eval}", "pass@1"), (f"pass@{n_eval}", f"pass@{n_eval}")):
            g = mean_std(gains(ispo, metric))
            parts = []
            ok = True
            for other in [a for a in ("jitter", "grpo") if a in runs]:
                o = mean_std(gains(other, metric))
                margin = 2 * max(g[1], o[1])
                beat = g[0] - o[0] > margin
                ok = ok and beat
                parts.append(f"vs {other} {100 * (g[0] - o[0]):+.1f} pp (needs > {100 * margin:.1f})")
            lines.append(f"- (c) {ispo}, {label} gain on {hardest}: {100 * g[0]:+.1f} ± {100 * g[1]:.1f} pp; "
                         + "; ".join(parts) + f" → {('passes' if ok else 'fails') if parts else 'no comparison arm'}")
    print("\n".join(lines) + "\n")

    # Diagnostics and cost.
    print("**Diagnostics** (means over all steps) and **cost**:\n")
    keys = [("frac_reward_zero_std", "outcome-level zero-std fraction", 3),
            ("effective_zero_adv_frac", "effective zero-advantage fraction (scalar rewards)", 3),
            ("ispo/grad_norm_equal_groups", "‖g‖ from equal-outcome groups", 3),
            ("actor/grad_norm", "‖g‖ total", 3),
            ("ispo/seq_info_group_std", "I's std within groups", 3),
            ("ispo/seq_info_correct", "I, correct rollouts", 3),
            ("ispo/seq_info_wrong", "I, wrong rollouts", 3),
            ("ispo/intrinsic_var", "within-group variance of the intrinsic term", 5),
            ("ispo/token_credit_abs", "mean abs(δ) of token credit", 4),
            ("ispo/wrong_critical_prob", "π on critical tokens of wrong rollouts", 3),
            ("ispo/wrong_partial_steps", "correct leading steps of wrong rollouts in all-wrong groups", 2),
            ("train/outcome_acc", "training outcome accuracy", 3)]
    print("| measure | " + " | ".join(arms) + " |")
    print("|---|" + "---|" * len(arms))
    for key, label, digits in keys:
        print(f"| {label} | " + " | ".join(fmt(mean_std(per_seed(a, lambda a_, s: step_mean(runs[a_][s][0], key))), 1, digits)
                                           for a in arms) + " |")
    t = {a: mean_std(per_seed(a, lambda a_, s: step_mean(runs[a_][s][0], "timing_s/step"))) for a in arms}
    print("| step time (s) | " + " | ".join(fmt(t[a], 1, 2) for a in arms) + " |")
    if "grpo" in t and t["grpo"][0]:
        print("| step time ÷ GRPO (with signal passes) | " + " | ".join(f"{t[a][0] / t['grpo'][0]:.2f}" for a in arms) + " |")
    if "grpo" in runs:
        print("| median step time ÷ GRPO's, same seed; median over seeds [range] | "
              + " | ".join(cost_ratio(runs[a], runs["grpo"]) for a in arms) + " |")
        print("| the same per response token (step time ÷ mean response length) | "
              + " | ".join(cost_ratio(runs[a], runs["grpo"], per_token=True) for a in arms) + " |")
    def sig_ratio(a_, s):
        d = [v for v in runs[a_][s][0].values() if "timing_s/ispo_signals" in v]
        tot, sig = sum(v["timing_s/step"] for v in d), sum(v["timing_s/ispo_signals"] for v in d)
        return tot / (tot - sig) if d and tot > sig else None
    print("| step time ÷ (step time − signal passes), within each run | "
          + " | ".join(fmt(mean_std(per_seed(a, sig_ratio)), 1, 2) for a in arms) + " |")
    if "grpo-nosig" in t and t["grpo-nosig"][0]:
        print("| step time ÷ GRPO without signal passes | " + " | ".join(f"{t[a][0] / t['grpo-nosig'][0]:.2f}" for a in arms) + " |")
    print()
    if args.figure:
        plot(runs, arms, hardest, n_eval, args.figure)
    for arm, cruns in cost_runs.items():
        print(f"Cost-only arm `{arm}` (seeds {sorted(cruns)}): median step time ÷ its own, same seed; median over seeds [range]; "
              "second row per response token:\n")
        print("| " + " | ".join(arms) + " |")
        print("|" + "---|" * len(arms))
        print("| " + " | ".join(cost_ratio(runs[a], cruns) for a in arms) + " |")
        print("| " + " | ".join(cost_ratio(runs[a], cruns, per_token=True) for a in arms) + " |\n")


def plot(runs, arms, hardest, n_eval, path, window=10):
    """Two panels, mean over seeds per arm: the confident-wrong fraction
    (`window`-step moving average) and the hardest family's pass@1 per evaluation (mean and each seed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for arm in arms:
        seeds = sorted(runs[arm])
        common = sorted(set.intersection(*(set(runs[arm][s][0]) for s in seeds)))
        per_step = [statistics.mean(runs[arm][s][0][t].get("ispo/wrong_confident_frac", 0) for s in seeds) for t in common]
        smooth = [statistics.mean(per_step[max(0, i - window + 1):i + 1]) for i in range(len(per_step))]
        line, = left.plot(common, [100 * v for v in smooth], label=arm)
        evals = sorted(set.intersection(*(set(runs[arm][s][1]) for s in seeds)))
        vals = [[runs[arm][s][1][t].get(f"val-core/{hardest}/acc/mean@{n_eval}", 0) for s in seeds] for t in evals]
        right.plot(evals, [100 * statistics.mean(v) for v in vals], color=line.get_color(), lw=2, label=arm)
        for k in range(len(seeds)):  # each seed thin: the outcomes can split by seed, which a std bar hides
            right.plot(evals, [100 * v[k] for v in vals], color=line.get_color(), lw=0.7, alpha=0.45)
    left.set(xlabel="RL step", ylabel=f"confident wrong answers, % of wrong ({window}-step mean)",
             title="(b) answer probability > 0.9 among wrong rollouts")
    right.set(xlabel="RL step", ylabel="pass@1 (%)", title=f"{hardest}: pass@1 = avg@{n_eval}; mean (thick) and each seed")
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def cost_ratio(arm_runs, ref_runs, per_token=False):
    """Median over the shared seeds of (median timing_s/step of the arm) ÷ (that of the reference), with the range;
    `per_token`: of timing_s/step ÷ response_length/mean (a policy that writes shorter answers takes shorter steps)."""
    def per_step(v):
        return v["timing_s/step"] / v["response_length/mean"] if per_token else v["timing_s/step"]
    ratios = []
    for seed in sorted(set(arm_runs) & set(ref_runs)):
        med = [statistics.median(per_step(v) for v in r[0].values()
                                 if "timing_s/step" in v and (not per_token or v.get("response_length/mean")))
               for r in (arm_runs[seed], ref_runs[seed])]
        ratios.append(med[0] / med[1])
    if not ratios:
        return "–"
    return f"{statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}]"


if __name__ == "__main__":
    main()
