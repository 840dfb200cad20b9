#!/usr/bin/env python3
"""Tables for Docs/Results-FLaG.md from Launch/flag-experiment.sh's `detect eval` logs.

    python3 Launch/flag_report.py runs/flag-exp
Prints, per log family (eval-k<K>-s<seed>, transfer-<family>-s<seed>, transfer-k<K>-<family>-s<seed>,
labels10-s<seed>, labels10-k<K>-s<seed>),
each method's AUROC [95% CI] per seed and the mean over seeds, and the routing MI lines."""
import glob, os, re, sys
from collections import defaultdict

row = re.compile(r"^(.{28}) (\d\.\d+) \[(\d\.\d+), (\d\.\d+)\]\s+(\d\.\d+) \[(\d\.\d+), (\d\.\d+)\]")

def parse(path):
    rows, header, routing = {}, "", ""
    for line in open(path):
        if line.startswith("detect eval:"): header = line.strip()
        if line.startswith("routing:"): routing = (routing + " | " if routing else "") + line.strip()
        m = row.match(line)
        if m: rows[m.group(1).strip()] = tuple(float(m.group(i)) for i in range(2, 8))
    return header, rows, routing

def table(title, logs):
    by_method, seeds, notes = defaultdict(dict), [], []
    for seed, path in logs:
        header, rows, routing = parse(path)
        seeds.append(seed); notes.append(f"seed {seed}: {header}" + (f"; {routing}" if routing else ""))
        for method, v in rows.items(): by_method[method][seed] = v
    print(f"\n### {title}\n")
    print("| method | " + " | ".join(f"AUROC seed {s} [95% CI]" for s in seeds) + " | mean AUROC | mean AUPRC(wrong) |")
    print("|---|" + "---|" * (len(seeds) + 2))
    for method, per in by_method.items():
        cells = [f"{per[s][0]:.3f} [{per[s][1]:.3f}, {per[s][2]:.3f}]" if s in per else "—" for s in seeds]
        vals = [per[s] for s in seeds if s in per]
        print(f"| {method} | " + " | ".join(cells) + f" | {sum(v[0] for v in vals)/len(vals):.3f} | {sum(v[3] for v in vals)/len(vals):.3f} |")
    print()
    for n in notes: print(f"- {n}")

def main(out):
    groups = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(out, "*.log"))):
        name = os.path.basename(path)[:-4]
        m = re.match(r"(eval-k\d+|indist-k\d+|transfer-(?:k\d+-)?\w+|labels10(?:-k\d+)?)-s(\d+)$", name)
        if m: groups[m.group(1)].append((int(m.group(2)), path))
    for key in sorted(groups, key=lambda k: (not k.startswith("eval"), not k.startswith("indist"), k)):
        table(key, sorted(groups[key]))

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/flag-exp")
