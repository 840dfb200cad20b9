#!/usr/bin/env python3
"""Tables for the SmolLM2 section of Docs/Results-ISPO.md, from the runs of
Launch/ispo2-smollm.sh.

    python3 Launch/ispo2_smollm_report.py runs/ispo2-smol [--seed 1]

Greedy accuracy on the 100 GSM8K-test and 100 ASDiv questions at the first and
last evaluation of each arm; the paired differences (arm − arm, last − first)
with a bootstrap 95 % interval over the questions; the per-step diagnostics of
both arms and their means.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from smollm_sft_report import acc, evals, metrics, paired  # noqa: E402

ARMS = ("grpo", "ispo-tok")
DIAGNOSTICS = [("frac_reward_zero_std", "outcome-level zero-std fraction", 3),
               ("effective_zero_adv_frac", "effective zero-advantage fraction", 3),
               ("ispo/grad_norm_equal_groups", "‖g‖ from equal-outcome groups", 4),
               ("actor/grad_norm", "‖g‖ total", 4),
               ("ispo/seq_info_group_std", "I's std within groups", 3),
               ("ispo/answer_span_frac", "rollouts with an answer span (where the sequence signal exists)", 3),
               ("ispo/wrong_confident_frac", "confident wrong fraction (answer π > 0.9)", 3),
               ("ispo/wrong_critical_prob", "π on critical tokens of wrong rollouts", 3),
               ("ispo/token_credit_abs", "mean abs(δ) of token credit", 4),
               ("train/outcome_acc", "training outcome accuracy", 3),
               ("response_length/clip_ratio", "responses cut at the token limit", 3),
               ("timing_s/step", "step time (s)", 1),
               ("timing_s/ispo_signals", "of which signal passes (s)", 1)]


def ci(p, digits=1):
    return f"{p[0]:+.{digits}f} [{p[1]:+.{digits}f}, {p[2]:+.{digits}f}]" if p else "—"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", default="runs/ispo2-smol")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    runs = {a: os.path.join(args.root, f"{a}-s{args.seed}") for a in ARMS}
    ev = {a: evals(r) for a, r in runs.items() if os.path.isdir(r)}
    met = {a: metrics(r) for a, r in runs.items() if os.path.isdir(r)}
    if not ev:
        sys.exit(f"no runs under {args.root}")

    print("| arm | step | GSM8K acc % | ASDiv acc % | all acc % |")
    print("|---|---|---|---|---|")
    first, last = {}, {}
    for a in ev:
        if not ev[a]:
            continue
        first[a], last[a] = ev[a][min(ev[a])][0], ev[a][max(ev[a])][0]
        for step in sorted(ev[a]):
            q = ev[a][step][0]
            print(f"| {a} | {step} | {acc(q, 'gsm8k'):.1f} | {acc(q, 'asdiv'):.1f} | {acc(q):.1f} |")

    print("\n| comparison | accuracy, points [95 % CI] | questions |")
    print("|---|---|---|")
    for a in last:
        print(f"| {a}: last − first evaluation | {ci(paired(last[a], first[a], 'acc', f'{a}|gain'))} | {len(last[a])} |")
    if all(a in last for a in ARMS):
        print(f"| ispo-tok − grpo, last evaluation | {ci(paired(last['ispo-tok'], last['grpo'], 'acc', 'ispo-tok|grpo'))} "
              f"| {len(set(last['ispo-tok']) & set(last['grpo']))} |")

    steps = {a: sorted(s for s, d in met[a].items() if "actor/grad_norm" in d) for a in met}
    print("\nPer step (zero-std = outcome-level zero-std fraction, eff. = effective zero-advantage fraction, "
          "‖g‖eq = gradient norm from equal-outcome groups, conf. wrong = confident wrong fraction):\n")
    print("| arm | step | zero-std | eff. | ‖g‖eq | I std in groups | conf. wrong | train acc | step s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for a in met:
        for s in steps[a]:
            d = met[a][s]
            print(f"| {a} | {s} | {d.get('frac_reward_zero_std', float('nan')):.3f} | {d.get('effective_zero_adv_frac', float('nan')):.3f} | "
                  f"{d.get('ispo/grad_norm_equal_groups', float('nan')):.4f} | {d.get('ispo/seq_info_group_std', float('nan')):.3f} | "
                  f"{d.get('ispo/wrong_confident_frac', float('nan')):.3f} | {d.get('train/outcome_acc', float('nan')):.3f} | "
                  f"{d.get('timing_s/step', float('nan')):.0f} |")

    print("\nMeans over steps (± std over steps):\n")
    print("| measure | " + " | ".join(met) + " |")
    print("|---|" + "---|" * len(met))
    for key, label, digits in DIAGNOSTICS:
        cells = []
        for a in met:
            xs = [met[a][s][key] for s in steps[a] if key in met[a][s]]
            cells.append(f"{statistics.mean(xs):.{digits}f} ± {statistics.stdev(xs) if len(xs) > 1 else 0:.{digits}f}" if xs else "–")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
