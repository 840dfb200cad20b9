#!/usr/bin/env python3
"""Tables for Docs/Results-FLaG.md "Filter and penalty in RL" from flag-experiment.sh's
`rlarms` runs (<dir>/<arm>-s<seed>/metrics.jsonl and rollouts/<step>.jsonl).

    python3 Launch/flag_rl_report.py runs/flag-exp/rlarms

Prints, per arm and seed, the greedy validation accuracy at every validation step,
chain:1's, the training outcome accuracy, the live score's per-step figures and what
the filter removed; then the step-final means over seeds and the protocol's verdict
against the `off` arm (better/worse: mean difference >= 0.03 and the same sign on every seed)."""
import glob, json, os, re, sys
from collections import defaultdict

THRESHOLD = 0.5  # flag.threshold (the default the runs used)


def load(run):
    steps = {}
    for line in open(os.path.join(run, "metrics.jsonl")):
        o = json.loads(line)
        steps.setdefault(o["step"], {}).update({k: v for k, v in o["data"].items() if isinstance(v, (int, float))})
    return steps


def per_step(run):
    """Rollouts generated per step: data.train_batch_size × rollout.n from the run's config.yaml."""
    text = open(os.path.join(run, "config.yaml")).read()
    b = int(re.search(r"^data:\n(?:  .*\n)*?  train_batch_size: (\d+)", text, re.M).group(1))
    n = int(re.search(r"^rollout:\n(?:  .*\n)*?  n: (\d+)", text, re.M).group(1))
    return b * n


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def fmt(x, p=3):
    return "—" if x is None else f"{x:.{p}f}"


def rollouts(run):
    """(kept samples, wrong kept, flagged kept, wrong among flagged kept) over all dumped steps."""
    n = wrong = flagged = flagged_wrong = 0
    for path in glob.glob(os.path.join(run, "rollouts", "*.jsonl")):
        for line in open(path):
            r = json.loads(line)
            n += 1
            w = r["outcome"] == 0
            wrong += w
            if r.get("flag/p_wrong", 0) > THRESHOLD:
                flagged += 1
                flagged_wrong += w
    return n, wrong, flagged, flagged_wrong


def main(out):
    runs = defaultdict(dict)
    for run in sorted(glob.glob(os.path.join(out, "*-s*"))):
        m = re.match(r"(\w+)-s(\d+)$", os.path.basename(run))
        if m and os.path.isdir(run) and os.path.exists(os.path.join(run, "metrics.jsonl")):
            runs[m.group(1)][int(m.group(2))] = run
    order = [a for a in ("off", "live", "filter", "penalty") if a in runs] + sorted(set(runs) - {"off", "live", "filter", "penalty"})
    final = defaultdict(dict)
    print("| arm | seed | val acc (greedy, 192) by step | chain:1 val acc first → last | train outcome acc, steps 1–10 / last 10 "
          "| flag/frac_flagged mean | flag/auroc mean (steps with both classes) | dropped by filter / generated | wrong in the kept rollouts |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arm in order:
        for seed, run in sorted(runs[arm].items()):
            s = load(run)
            val_steps = sorted(k for k, v in s.items() if "val-core/all/acc/mean@1" in v)
            vals = [s[k]["val-core/all/acc/mean@1"] for k in val_steps]
            chain = [s[k].get("val-core/chain:1/acc/mean@1") for k in val_steps]
            train = sorted(k for k, v in s.items() if "train/outcome_acc" in v)
            acc = [s[k]["train/outcome_acc"] for k in train]
            flagged = mean([s[k].get("flag/frac_flagged") for k in train])
            auroc = mean([s[k].get("flag/auroc") for k in train])
            dropped = sum(s[k].get("flag/filtered", 0) for k in train)
            G = per_step(run)
            generated = G * len(train)
            n, wrong, _, _ = rollouts(run)
            final[arm][seed] = vals[-1] if vals else None
            print(f"| {arm} | {seed} | " + " / ".join(f"{k}: {v:.3f}" for k, v in zip(val_steps, vals))
                  + f" | {fmt(chain[0])} → {fmt(chain[-1])} | {fmt(mean(acc[:10]))} / {fmt(mean(acc[-10:]))} | {fmt(flagged)} | {fmt(auroc)}"
                  + f" | {int(dropped) if arm == 'filter' else '—'} / {generated} | {wrong} / {n} |")
    print()
    if "filter" in runs:
        for seed, run in sorted(runs["filter"].items()):
            s = load(run); G = per_step(run)
            train = [k for k in s if "train/outcome_acc" in s[k]]
            wrong_gen = round(sum((1 - s[k]["train/outcome_acc"]) * G for k in train))
            dropped = round(sum(s[k].get("flag/filtered", 0) for k in train))
            _, wrong_kept, _, _ = rollouts(run)
            zs = mean([s[k].get("frac_reward_zero_std") for k in train]); ze = mean([s[k].get("effective_zero_adv_frac") for k in train])
            print(f"- filter, seed {seed}: {dropped} rollouts dropped, {wrong_gen - wrong_kept} of them wrong "
                  f"({wrong_gen} wrong generated, {wrong_kept} kept); groups with zero reward spread: "
                  f"{zs:.2f} of those generated, {ze:.2f} of those trained on")
        print()
    if "live" in runs:
        # What a filter would remove, read from the live arm (which keeps everything).
        for seed, run in sorted(runs["live"].items()):
            n, wrong, fl, flw = rollouts(run)
            print(f"- live, seed {seed}: {fl} of {n} rollouts flagged (p(wrong) > {THRESHOLD}), {flw} of them wrong; "
                  f"{flw} of the {wrong} wrong rollouts flagged")
        print()
    print("| arm | seed | flag/auroc, steps 1–10 / 11–20 / 21–30 | flag/frac_flagged, same blocks | flag/filtered per step, same blocks "
          "| val-flag/auroc by validation step |")
    print("|---|---|---|---|---|---|")
    for arm in order:
        if arm == "off": continue
        for seed, run in sorted(runs[arm].items()):
            s = load(run)
            last = max(k for k in s if "train/outcome_acc" in s[k])
            blocks = [(a, min(a + 9, last)) for a in range(1, last + 1, 10)]
            def blk(key):
                return " / ".join(fmt(mean([s[k].get(key) for k in range(a, b + 1) if k in s]), 2) for a, b in blocks)
            val = " / ".join(f"{k}: {s[k]['val-flag/auroc']:.3f}" for k in sorted(s) if "val-flag/auroc" in s[k])
            print(f"| {arm} | {seed} | {blk('flag/auroc')} | {blk('flag/frac_flagged')} | "
                  f"{blk('flag/filtered') if arm == 'filter' else '—'} | {val} |")
    print()
    base = final.get("off", {})
    print("| arm | step-final val acc, seeds " + ", ".join(str(s) for s in sorted(base)) + " | mean | mean − off | verdict |")
    print("|---|---|---|---|---|")
    for arm in order:
        seeds = sorted(final[arm])
        m = mean(final[arm].values())
        diffs = [final[arm][s] - base[s] for s in seeds if s in base]
        d = mean(diffs) if diffs else None
        verdict = "—"
        if arm != "off" and diffs and len(diffs) == len(base):
            if d >= 0.03 and all(x > 0 for x in diffs): verdict = "better"
            elif d <= -0.03 and all(x < 0 for x in diffs): verdict = "worse"
            else: verdict = "no difference"
        print(f"| {arm} | " + " / ".join(fmt(final[arm][s]) for s in seeds) + f" | {fmt(m)} | {fmt(d) if arm != 'off' else '—'} | {verdict} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/flag-exp/rlarms")
