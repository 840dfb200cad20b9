#!/usr/bin/env python3
"""Tables for the real-model sections of Results-T3S, -TokenPriority and -P2D
from the runs of Launch/smollm-sft-methods.sh.

    python3 Launch/smollm_sft_report.py runs/smol-sft [--seed 1] [--figures Docs/figures]

Per arm: greedy accuracy on the 100 GSM8K-test and 100 ASDiv questions, the
held-out loss of 100 GSM8K-test worked solutions, wall time; then each
protocol comparison A − B with a paired bootstrap 95 % interval over the
evaluation items (questions for accuracy, solutions for the loss, 10 000
resamples, fixed seed), and the method's own metrics.
"""
import argparse
import glob
import json
import os
import random
import re

RESAMPLES = 10_000


def evals(run):
    """{step: (per-question correct by (source, group), per-solution (nll, tokens) by index)}."""
    out = {}
    for path in glob.glob(os.path.join(run, "generations", "*.jsonl")):
        step = int(os.path.basename(path).split(".")[0])
        rows = [json.loads(l) for l in open(path)]
        acc = {(r["data_source"], r["group_id"]): float(r["correct"]) for r in rows}
        loss_path = os.path.join(run, "ref_loss", f"{step}.jsonl")
        loss = {}
        if os.path.exists(loss_path):
            loss = {r["index"]: (r["nll"], r["tokens"]) for r in map(json.loads, open(loss_path))}
        out[step] = (acc, loss)
    return out


def metrics(run):
    """{step: every key logged at that step}, from metrics.jsonl and sft_metrics.jsonl (the training losses)."""
    rows = [json.loads(l) for f in ("metrics.jsonl", "sft_metrics.jsonl") if os.path.exists(os.path.join(run, f))
            for l in open(os.path.join(run, f))]
    merged = {}
    for r in rows:
        merged.setdefault(r["step"], {}).update(r["data"])
    return merged


def acc(a, source=None):
    xs = [v for (s, _), v in a.items() if source is None or s == source]
    return 100 * sum(xs) / len(xs) if xs else float("nan")


def loss(l):
    return sum(n for n, _ in l.values()) / sum(t for _, t in l.values()) if l else float("nan")


def paired(a, b, kind, seed):
    """(A − B, lo, hi): accuracy in points over shared questions, loss in nats/token over shared solutions.
    The bootstrap is seeded by `seed` (the comparison's name), so an interval does not depend on which other runs exist."""
    rng = random.Random(seed)
    keys = sorted(set(a) & set(b))
    if not keys:
        return None
    if kind == "acc":
        d = [a[k] - b[k] for k in keys]
        stat = lambda idx: 100 * sum(d[i] for i in idx) / len(idx)
    else:
        stat = lambda idx: (sum(a[keys[i]][0] for i in idx) - sum(b[keys[i]][0] for i in idx)) / sum(a[keys[i]][1] for i in idx)
    full = stat(range(len(keys)))
    boots = sorted(stat([rng.randrange(len(keys)) for _ in keys]) for _ in range(RESAMPLES))
    return full, boots[int(0.025 * RESAMPLES)], boots[int(0.975 * RESAMPLES) - 1]


def wall_times(out_file):
    times = {}
    if os.path.exists(out_file):
        for line in open(out_file):
            m = re.match(r"== (\S+) seed (\d+): (\d+) s", line)
            if m:
                times[(m.group(1), int(m.group(2)))] = int(m.group(3))
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--figures")
    args = ap.parse_args()
    root, seed = args.root, args.seed
    times = {}
    for out in sorted(glob.glob(root.rstrip("/") + "*.out")):   # runs/smol-sft.out and runs/smol-sft-extra.out
        times.update(wall_times(out))
    run = lambda name: os.path.join(root, f"{name}-s{seed}")

    # (arm label, run name, which evaluation: "last" or a step)
    arms = [("base (step 0)", "t3s", 0), ("t3s: sft (pre-run end)", "t3s", 32), ("t3s: t3s", "t3s", 64),
            ("t3s: random mask", "t3s-random", 64),
            ("priority clean:uniform", "priority-clean-uniform", "last"),
            ("priority noise:uniform", "priority-noise-uniform", "last"),
            ("priority noise:soft", "priority-noise-soft", "last"),
            ("priority noise:hard", "priority-noise-hard", "last"),
            ("p2d full", "p2d-full", "last"), ("p2d random_data", "p2d-random_data", "last"),
            ("p2d p2d_heads_random_data", "p2d-p2d_heads_random_data", "last"),
            ("p2d random_heads_p2d_data", "p2d-random_heads_p2d_data", "last"), ("p2d p2d", "p2d-p2d", "last")]
    table, got = [], {}
    print("| arm | step | GSM8K acc % | ASDiv acc % | all acc % | held-out loss (nats/token) | run wall s |")
    print("|---|---|---|---|---|---|---|")
    for label, name, which in arms:
        if not os.path.isdir(run(name)):
            print(f"| {label} | (not run) | | | | | |")
            continue
        ev = evals(run(name))
        if not ev:
            continue
        step = max(ev) if which == "last" else which
        if step not in ev:
            print(f"| {label} | {step} (missing) | | | | | |")
            continue
        a, l = ev[step]
        got[label] = (a, l)
        wall = times.get((name, seed), "")
        print(f"| {label} | {step} | {acc(a, 'gsm8k'):.1f} | {acc(a, 'asdiv'):.1f} | {acc(a):.1f} | {loss(l):.4f} | {wall} |")

    pairs = [("t3s: sft (pre-run end)", "base (step 0)"), ("t3s: t3s", "t3s: sft (pre-run end)"),
             ("t3s: t3s", "t3s: random mask"), ("t3s: random mask", "t3s: sft (pre-run end)"),
             ("priority clean:uniform", "priority noise:uniform"), ("priority noise:hard", "priority noise:uniform"),
             ("priority noise:soft", "priority noise:uniform"),
             ("p2d full", "base (step 0)"), ("p2d p2d", "p2d full"), ("p2d p2d", "p2d random_data"),
             ("p2d p2d", "p2d p2d_heads_random_data"), ("p2d p2d", "p2d random_heads_p2d_data"),
             ("p2d p2d", "base (step 0)"), ("p2d random_data", "base (step 0)")]
    print("\n| A − B | accuracy, points [95 % CI] | held-out loss, nats/token [95 % CI] |")
    print("|---|---|---|")
    for A, B in pairs:
        if A not in got or B not in got:
            continue
        pa = paired(got[A][0], got[B][0], "acc", f"{A}|{B}|acc")
        pl = paired(got[A][1], got[B][1], "loss", f"{A}|{B}|loss")
        fa = f"{pa[0]:+.1f} [{pa[1]:+.1f}, {pa[2]:+.1f}]" if pa else "—"
        fl = f"{pl[0]:+.4f} [{pl[1]:+.4f}, {pl[2]:+.4f}]" if pl else "—"
        print(f"| {A} − {B} | {fa} | {fl} |")

    p2d_points = []
    full_s = metrics(run("p2d-full")).get(32, {}).get("p2d/full_sft_s") if os.path.isdir(run("p2d-full")) else None
    for label, name in [("full", "p2d-full"), ("random_data", "p2d-random_data"),
                        ("p2d_heads_random_data", "p2d-p2d_heads_random_data"),
                        ("random_heads_p2d_data", "p2d-random_heads_p2d_data"), ("p2d", "p2d-p2d")]:
        key = "p2d " + label
        if key not in got or not full_s:
            continue
        m = {k: v for step in metrics(run(name)).values() for k, v in step.items()}
        aer = (m.get("p2d/select_s", 0) + m.get("p2d/train_s", 0)) / full_s
        a = got[key][0]
        _, lo, hi = paired(a, {k: 0.0 for k in a}, "acc", f"{key}|acc")   # the accuracy's own bootstrap interval
        p2d_points.append((label, aer, acc(a), lo, hi))
    if p2d_points:
        print("\n| P2D arm | AER (select + train) / t_full_sft | all acc % [95 % CI] |")
        print("|---|---|---|")
        for label, aer, a, lo, hi in p2d_points:
            print(f"| {label} | {aer:.2f} | {a:.1f} [{lo:.1f}, {hi:.1f}] |")
        if args.figures:
            plot_aer(p2d_points, os.path.join(args.figures, "p2d-smollm2-acc-vs-aer.png"))

    print("\nMethod metrics (the runs' metrics.jsonl, every key of the method's prefix, first value per key):")
    for name, prefix in [("t3s", "t3s/"), ("t3s-random", "t3s/"), ("priority-noise-uniform", "priority/"), ("priority-noise-soft", "priority/"),
                         ("priority-noise-hard", "priority/"), ("p2d-full", "p2d/"), ("p2d-random_data", "p2d/"),
                         ("p2d-p2d_heads_random_data", "p2d/"), ("p2d-random_heads_p2d_data", "p2d/"), ("p2d-p2d", "p2d/")]:
        if not os.path.exists(os.path.join(run(name), "metrics.jsonl")):
            continue
        m = metrics(run(name))
        seen = {}
        for step in sorted(m):
            for k, v in m[step].items():
                if k.startswith(prefix) and "/head_score/" not in k and k not in seen:
                    seen[k] = (step, v)
        keep = {k: v for k, v in seen.items() if not k.endswith(("/loss", "/lr", "/grad_norm"))}
        print(f"- {name}: " + ", ".join(f"{k}={v:.4g} (step {s})" for k, (s, v) in sorted(keep.items())
                                         if not k.startswith("p2d/head_selected/")))
        heads = sorted(k.split("/")[-1] for k in seen if k.startswith("p2d/head_selected/") and seen[k][1] > 0)
        if heads:
            layers = sorted({int(re.match(r"L(\d+)", h).group(1)) for h in heads})
            print(f"  heads selected ({len(heads)}): {' '.join(heads)}; layers {layers}")
        probes = [(s, m[s]["t3s/train_acc"], m[s].get("t3s/phase")) for s in sorted(m) if "t3s/train_acc" in m[s]]
        if probes:
            print("  training-accuracy probes (step, acc, phase): " + ", ".join(f"({s}, {a:.3f}, {p:.0f})" for s, a, p in probes))
            losses = [(s, m[s]["t3s/loss"]) for s in sorted(m) if "t3s/loss" in m[s]]
            print("  training loss as logged (the restart's is the masked loss): " + ", ".join(f"{s}:{v:.3f}" for s, v in losses))
            if args.figures and name == "t3s":
                plot_shock(probes, losses, os.path.join(args.figures, "t3s-smollm2-shock.png"))


def plot_aer(points, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, aer, a, lo, hi in points:
        ax.errorbar([aer], [a], yerr=[[a - lo], [hi - a]], fmt="o", capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("AER (selection + training) / full SFT time, log scale")
    ax.set_ylabel("greedy accuracy, GSM8K + ASDiv (%)")
    ax.set_title("P2D on SmolLM2-135M, seed 1 (95 % bootstrap over 200 questions)", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_shock(probes, losses, path):
    """Training accuracy at the probes and the logged training loss, pre-run and restart apart
    (the restart's loss is the masked loss, over the non-anchor tokens only)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pre_end = max(s for s, _, p in probes if p == 0)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for phase, style, label in [(0, "o-", "pre-run (= sft arm): train acc"), (1, "s--", "t3s restart: train acc")]:
        pts = [(s, 100 * a) for s, a, p in probes if p == phase]
        if pts:
            ax.plot(*zip(*pts), style, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("training accuracy (%, 32 prompts)")
    ax2 = ax.twinx()
    pre = [(s, v) for s, v in losses if s <= pre_end]
    post = [(s, v) for s, v in losses if s > pre_end]
    if pre:
        ax2.plot(*zip(*pre), "x:", color="grey", label="pre-run loss")
    if post:
        ax2.plot(*zip(*post), "x:", color="tab:orange", alpha=0.5, label="restart masked loss")
    ax2.set_ylabel("training loss (nats/token)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right", fontsize=7)
    ax.set_title("SmolLM2-135M, 256 GSM8K-train solutions, seed 1", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
