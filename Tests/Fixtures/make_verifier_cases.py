#!/usr/bin/env python3
"""Verifier cases for TasksTests/VerifierTests: (source, response, ground truth)
with the verdict of math-verify 0.9.0 as the oracle.

    pip install --target /tmp/pydeps math-verify==0.9.0      # never into the project
    PYTHONPATH=/tmp/pydeps python3 Tests/Fixtures/make_verifier_cases.py

writes Tests/Fixtures/verifier_cases.json. Each case records the oracle's
verdict ("oracle") and the verdict our Swift verifier must give ("expected").
They agree unless the case lists "override": a sentence saying why our rule
deliberately differs (e.g. Hendrycks-style exactness where math-verify rounds
floats to 6 digits). Synthetic (`A:`) cases have no oracle (null): the format
is ours. The JSON is committed, so the Swift tests need no Python.

Oracle call: verify(parse(gold), parse(response)) with math-verify's default
extraction (LaTeX and plain expressions); the gold is wrapped as "$...$".
"""
import json
import os
import re

from math_verify import parse, verify

HERE = os.path.dirname(os.path.abspath(__file__))

# (source, response, ground truth, override-or-None). override = (expected, reason).
EXACT = "exact equality by design: a truncated decimal is not the fraction (math-verify rounds to 6 digits)"
CASES = [
    # GSM8K-style: #### marker, last number, separators, currency, units
    ("gsm8k", "She makes 9 * 2 = $18 every day.\n#### 18", "18", None),
    ("gsm8k", "Total is 1,234 apples.\n#### 1,234", "1234", None),
    ("gsm8k", "#### $1,234.00", "1234", None),
    ("gsm8k", "The answer is 12 dollars.", "12", None),
    ("gsm8k", "So the change is -5 degrees.\n#### -5", "-5", None),
    ("gsm8k", "First 3, then 4, so 7. Final: 7", "7", None),
    ("gsm8k", "It is 5 + 2 = 7.\n#### 7 apples remain", "7", None),
    ("gsm8k", "#### 8", "18", None),
    ("gsm8k", "It grows by 25%.\n#### 25%", "25", None),
    ("gsm8k", "#### 0.5", "0.5", None),
    ("gsm8k", "#### .5", "0.5", None),
    ("gsm8k", "#### 3.0", "3", None),
    ("gsm8k", "She has \\boxed{42} cookies.", "42", None),
    ("gsm8k", "no number here", "4", None),
    ("gsm8k", "Answer: 1,000,000", "1000000", None),
    ("gsm8k", "The result is 10 - 4 = 6", "6", None),
    ("svamp", "Each group has 145 bananas.", "145", None),
    ("svamp", "#### 145.0", "145", None),
    ("asdiv", "There are 9 apples in the basket.\n#### 9", "9 (apples)", None),
    ("asdiv", "There are 9 apples.\n#### 10", "9 (apples)", None),
    ("mawps", "She gave away 43 seashells.", "43", None),
    ("gsm_hard", "#### 3244047.1", "3244047.0999999996", None),
    ("gsm_hard", "#### 14053029.67", "14053029.666666666", (True,
        "gsm_hard targets are printed Python floats; an answer to 2+ decimals that the target rounds to is accepted")),
    ("gsm_hard", "#### 14053030", "14053029.666666666", None),
    ("gsm_hard", "#### -9867630", "-9867630.0", None),
    # MATH: boxed extraction with nested braces, Hendrycks normalisation
    ("math500", "so the answer is $\\boxed{\\frac{14}{3}}$.", "\\frac{14}{3}", None),
    ("math500", "$\\boxed{\\dfrac{14}{3}}$", "\\frac{14}{3}", None),
    ("math500", "$\\boxed{\\tfrac{3}{56}}$", "\\frac{3}{56}", None),
    ("math500", "$\\boxed{\\frac{3}{2}}$", "1.5", None),
    ("math500", "\\boxed{0.5}", "\\frac12", None),
    ("math500", "\\boxed{\\frac12}", "\\frac{1}{2}", None),
    ("math500", "\\boxed{1/2}", "\\frac{1}{2}", None),
    ("math500", "\\boxed{.5}", "\\frac{1}{2}", None),
    ("math500", "\\boxed{3.0}", "3", None),
    ("math500", "\\boxed{-\\frac{\\pi}{6}}", "-\\frac{\\pi}{6}", None),
    ("math500", "\\boxed{-\\dfrac{\\pi}{6}}", "-\\frac{\\pi}{6}", None),
    ("math500", "\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)", None),
    ("math500", "\\boxed{(3,\\frac{\\pi}{2})}", "\\left( 3, \\frac{\\pi}{2} \\right)", None),
    ("math500", "\\boxed{90^\\circ}", "90^\\circ", None),
    ("math500", "\\boxed{90}", "90^\\circ", None),
    ("math500", "\\boxed{11\\sqrt2}", "11\\sqrt{2}", None),
    ("math500", "\\boxed{\\sqrt{51}}", "\\sqrt{51}", None),
    ("math500", "\\boxed{\\sqrt{52}}", "\\sqrt{51}", None),
    ("math500", "\\boxed{\\text{Evelyn}}", "\\text{Evelyn}", None),
    ("math500", "\\boxed{Evelyn}", "\\text{Evelyn}", None),
    ("math500", "\\boxed{x=5}", "5", None),
    ("math500", "\\boxed{13,535}", "13535", None),
    ("math500", "\\boxed{10{,}000}", "10000", None),
    ("math500", "\\boxed{25\\%}", "25", None),
    ("math500", "\\boxed{\\$18.90}", "18.90", None),
    ("math500", "\\boxed{5\\text{ cm}}", "5", None),
    ("math500", "\\boxed{12\\text{ dollars}}", "12", None),
    ("math500", "\\boxed{6 - 5i}", "6 - 5i", None),
    ("math500", "\\boxed{-2 + 7i}", "-2 + 7i", None),
    ("math500", "\\boxed{3, 5, 7}", "3, 5, 7", None),
    ("math500", "\\boxed{1,-2}", "1,-2", None),
    ("math500", "\\boxed{-50}", "-50", None),
    ("math500", "\\boxed{50}", "-50", None),
    ("math500", "first \\boxed{2} then \\boxed{3}", "3", (True,
        "the last \\boxed{} is the answer (Hendrycks/verl last_boxed_only_string); math-verify takes the set of all")),
    ("math500", "first \\boxed{3} then \\boxed{2}", "3", None),
    ("math500", "\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}", None),
    ("math500", "\\boxed{\\frac{1}{3}}", "0.333333", (False, EXACT)),
    ("math500", "\\boxed{2\\frac{1}{3}}", "\\frac{7}{3}", None),
    ("math500", "The final answer is 5.", "5", (False,
        "MATH answers must be in \\boxed{} (verl/Hendrycks rule); math-verify also reads bare numbers")),
    ("math500", "\\boxed{\\frac{a}{b}", "\\frac{a}{b}", None),
]


def oracle(source, response, truth):
    if source == "asdiv":  # the ASDiv loader strips the unit: "9 (apples)" -> "9"
        truth = re.sub(r"\s*\([^()]*\)\s*$", "", truth)
    gold = parse("$" + truth + "$") if truth.strip() else []
    pred = parse(response)
    return bool(gold) and bool(pred) and bool(verify(gold, pred))


def main():
    cases = []
    for source, response, truth, override in CASES:
        o = oracle(source, response, truth)
        case = {"source": source, "response": response, "ground_truth": truth, "oracle": o,
                "expected": override[0] if override else o}
        if override:
            case["override"] = override[1]
        cases.append(case)
    # Synthetic answers (`A:` line) are our own format: no oracle.
    for response, truth, expected in [("T:7+5=12,c1\nA:12\n", "12", True), ("T:x\nA: 12 \n", "12", True),
                                      ("T:7+5=12,c1\nA:13\n", "12", False), ("T:no answer line", "12", False),
                                      ("A:3,5,9\n", "3,5,9", True), ("A:5,3,9\n", "3,5,9", False)]:
        cases.append({"source": "synthetic", "response": response, "ground_truth": truth, "oracle": None,
                      "expected": expected})
    out = {"format": "ispo-cluster verifier cases v1", "oracle": "math-verify 0.9.0",
           "generator": "Tests/Fixtures/make_verifier_cases.py", "cases": cases}
    path = os.path.join(HERE, "verifier_cases.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
    disagree = [c for c in cases if c["oracle"] is not None and c["oracle"] != c["expected"]]
    print(f"wrote {len(cases)} cases to {path}; {len(disagree)} deliberate overrides")


if __name__ == "__main__":
    main()
