#!/usr/bin/env python3
"""Which characters are T3S anchors, from a run's token ledger (synthetic tasks).

    python3 Launch/t3s_anchor_chars.py runs/t3s-phrasing/t3s-s1 [--bin .build/release/ispo-cluster]

Reads the summary that `ispo-cluster ledger <run>` prints (one line per sample,
anchors in brackets) and prints, per character, how many trace tokens it is,
how many of them are anchors, and its share of all anchors; then the same for
two groups: the layout characters trace style 3 adds to style 0 (space and
parentheses) and every other character.
"""
import argparse
import collections
import json
import re
import subprocess

LAYOUT = {" ", "(", ")"}


def tokens(shown):
    """(character, is_anchor) pairs of one summary string ('[x]' marks an anchor, '[]' the end token)."""
    text = json.loads(shown)  # the summary quotes the string with JSON-style escapes
    out, i = [], 0
    while i < len(text):
        if text[i] == "[":
            j = text.index("]", i)
            out.append((text[i + 1:j] or "<eos>", True))
            i = j + 1
        else:
            out.append((text[i], False))
            i += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--bin", default=".build/release/ispo-cluster")
    a = ap.parse_args()
    summary = subprocess.run([a.bin, "ledger", a.run], check=True, capture_output=True, text=True).stdout
    total, anchored = collections.Counter(), collections.Counter()
    for line in summary.splitlines():
        m = re.match(r"^\d+: (\d+)/(\d+) anchors\s+(\".*\")$", line)
        if not m:
            continue
        toks = tokens(m.group(3))
        # The end token decodes to "": shown as "[]" when it is an anchor, not at all when not.
        toks += [("<eos>", False)] * (int(m.group(2)) - len(toks))
        assert sum(a for _, a in toks) == int(m.group(1)), line
        for ch, anchor in toks:
            total[ch] += 1
            anchored[ch] += anchor
    n_tok, n_anc = sum(total.values()), sum(anchored.values())
    print(f"{a.run}: {n_anc}/{n_tok} tokens are anchors ({n_anc / n_tok:.3f})")
    print("| char | tokens | anchors | anchor rate | share of anchors |")
    print("|---|---|---|---|---|")
    for ch in sorted(total, key=lambda c: -anchored[c]):
        print(f"| {json.dumps(ch)} | {total[ch]} | {anchored[ch]} | {anchored[ch] / total[ch]:.3f} | {anchored[ch] / max(1, n_anc):.3f} |")
    for name, group in [("layout (space, parentheses)", lambda c: c in LAYOUT), ("all other", lambda c: c not in LAYOUT)]:
        t = sum(v for c, v in total.items() if group(c))
        k = sum(v for c, v in anchored.items() if group(c))
        print(f"{name}: {t} tokens ({t / n_tok:.3f} of all), {k} anchors (rate {k / max(1, t):.3f}, "
              f"{k / max(1, n_anc):.3f} of anchors)")


if __name__ == "__main__":
    main()
