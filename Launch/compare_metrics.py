#!/usr/bin/env python3
"""Compares the non-timing metrics of two sets of runs field by field.

    python3 Launch/compare_metrics.py runs/refcheck-before runs/refcheck-after
    python3 Launch/compare_metrics.py --allow-added motab/ runs/old-run runs/new-run

Each argument is a directory of run directories (as Launch/refactor-check.sh
writes) or a single run directory. For every run present in both, every JSONL
file of metrics (metrics.jsonl, sft_metrics.jsonl) must have the same lines,
the same steps and the same values for every key except timings and
throughputs (timing_s/*, perf/*). `--allow-added PREFIX` (repeatable) lets the
second set carry keys with that prefix that the first lacks (a fix that adds
metrics); the values both sets have must still match. Exits 1 on the first
difference in each run, listing it; 0 when every run matches.
"""
import json
import os
import sys

TIMING_PREFIXES = ("timing_s/", "perf/")
FILES = ("metrics.jsonl", "sft_metrics.jsonl")


def runs(root):
    if any(os.path.exists(os.path.join(root, f)) for f in FILES):
        return {".": root}
    return {d: os.path.join(root, d) for d in sorted(os.listdir(root))
            if os.path.isdir(os.path.join(root, d)) and any(os.path.exists(os.path.join(root, d, f)) for f in FILES)}


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def strip(record):
    data = {k: v for k, v in record.get("data", {}).items() if not k.startswith(TIMING_PREFIXES)}
    return record.get("step"), data


ALLOWED_ADDED = []


def compare_file(a, b):
    ra, rb = records(a), records(b)
    if len(ra) != len(rb):
        return f"{len(ra)} lines vs {len(rb)}", 0
    for i, (x, y) in enumerate(zip(ra, rb)):
        (sx, dx), (sy, dy) = strip(x), strip(y)
        dy = {k: v for k, v in dy.items() if k in dx or not k.startswith(tuple(ALLOWED_ADDED))}
        if sx != sy:
            return f"line {i + 1}: step {sx} vs {sy}", 0
        if dx.keys() != dy.keys():
            return f"line {i + 1} (step {sx}): keys only before {sorted(dx.keys() - dy.keys())}, only after {sorted(dy.keys() - dx.keys())}", 0
        for k in sorted(dx):
            if dx[k] != dy[k]:
                return f"line {i + 1} (step {sx}): {k} = {dx[k]!r} vs {dy[k]!r}", 0
    return None, sum(len(strip(r)[1]) for r in ra)


def main():
    args = sys.argv[1:]
    while len(args) > 2 and args[0] == "--allow-added":
        ALLOWED_ADDED.append(args[1])
        args = args[2:]
    if len(args) != 2:
        print(__doc__)
        return 2
    before, after = runs(args[0]), runs(args[1])
    if not before or not after:
        print(f"no runs found under {args[0] if not before else args[1]}")
        return 1
    bad = 0
    for name in sorted(before.keys() | after.keys()):
        if name not in before or name not in after:
            print(f"{name}: only in {'before' if name in before else 'after'}")
            bad += 1
            continue
        for f in FILES:
            pa, pb = os.path.join(before[name], f), os.path.join(after[name], f)
            if not os.path.exists(pa) and not os.path.exists(pb):
                continue
            if os.path.exists(pa) != os.path.exists(pb):
                print(f"{name}/{f}: present in one set only")
                bad += 1
                continue
            diff, n = compare_file(pa, pb)
            if diff:
                print(f"{name}/{f}: DIFFERS: {diff}")
                bad += 1
            else:
                print(f"{name}/{f}: identical ({n} non-timing values)")
    print("all runs identical" if bad == 0 else f"{bad} difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
