#!/usr/bin/env python3
"""Live vs offline FLaG scores in a real run: the `flag/score` each rollout got
live (rollout dump of step 1, drawn with the starting weights) against the score
of the same head on `detect features` of the same (prompt, response) from the
starting checkpoint.

    python3 Launch/flag_live_check.py HEAD.json ROLLOUTS.jsonl FEATURES.jsonl
HEAD.json: `ispo-cluster detect head --head HEAD.shard --json HEAD.json` (the
checkpoint-format head exported as JSON).
FEATURES.jsonl: `ispo-cluster detect features --model <start> --input ROLLOUTS.jsonl`
(same order: every line kept, none skipped). Prints the max |live − offline|."""
import json, math, sys

def scorer(head):
    h = json.load(open(head))
    s = h["shape"]; K = s["groups"]; D = s["representationDim"] + s["tokenDim"]; T = s["temperature"]
    assert s["projectionDim"] == 0, "this check reads heads without a projection"
    p = h["parameters"]; mean = h["standardizer"]["mean"]; std = h["standardizer"]["std"]
    bo = K * D; vo = bo + K; co = vo + K * D
    logsig = lambda x: min(x, 0) - math.log1p(math.exp(-abs(x)))
    def lse(a):
        m = max(a); return m + math.log(sum(math.exp(v - m) for v in a))
    def score(x):
        z = [(x[i] - mean[i]) / std[i] for i in range(D)]
        a, l = [], []
        for k in range(K):
            a.append(-(p[bo + k] + sum(p[k * D + i] * z[i] for i in range(D))) / T)
            l.append(p[co + k] + sum(p[vo + k * D + i] * z[i] for i in range(D)))
        A = lse(a); lp = [v - A for v in a]
        return lse([lp[k] + logsig(l[k]) for k in range(K)]) - lse([lp[k] + logsig(-l[k]) for k in range(K)])
    return score

def main(head, rollouts, features):
    score = scorer(head)
    live = [json.loads(l) for l in open(rollouts) if l.strip()]
    off = [json.loads(l) for l in open(features) if l.strip()]
    if len(live) != len(off):
        sys.exit(f"expected one feature line per rollout, found {len(off)} for {len(live)}: some were skipped")
    diffs = [abs(r["flag/score"] - score(f["features"])) for r, f in zip(live, off) if "flag/score" in r]
    print(f"live vs offline FLaG score over {len(diffs)} rollouts: max |diff| {max(diffs):.3g}, "
          f"mean |diff| {sum(diffs)/len(diffs):.3g}; live score range [{min(r['flag/score'] for r in live):.2f}, "
          f"{max(r['flag/score'] for r in live):.2f}]")

if __name__ == "__main__":
    main(*sys.argv[1:4])
