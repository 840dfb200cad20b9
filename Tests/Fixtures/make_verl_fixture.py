#!/usr/bin/env python3
"""Makes Tests/Fixtures/verl_from_parquet.jsonl: writes a small verl-shaped parquet
with pyarrow (the columns verl's gsm8k.py / math_dataset.py preprocessing writes,
plus one row with a system message and two user turns, one with a string prompt and
a numeric ground truth), then converts it with Launch/parquet-to-jsonl.py.

    python3 -m venv /tmp/pq && /tmp/pq/bin/pip install pyarrow
    /tmp/pq/bin/python Tests/Fixtures/make_verl_fixture.py
"""
import os
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GSM_INSTR = 'Let\'s think step by step and output the final answer after "####".'
MATH_INSTR = "Let's think step by step and output the final answer within \\boxed{}."

chat = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
rows = [
    dict(data_source="openai/gsm8k",
         prompt=[dict(role="user", content="Natalia sold 48 clips in April and half as many in May. How many in all? " + GSM_INSTR)],
         ability="math", reward_model=dict(style="rule", ground_truth="72"),
         extra_info=dict(split="train", index=0, answer="48 + 24 = 72\n#### 72")),
    dict(data_source="lighteval/MATH",
         prompt=[dict(role="system", content="You are a careful mathematician."),
                 dict(role="user", content="What is $\\frac{1}{2} + \\frac{1}{3}$? " + MATH_INSTR)],
         ability="math", reward_model=dict(style="rule", ground_truth="\\frac{5}{6}"),
         extra_info=dict(split="test", index=1, answer="\\boxed{\\frac{5}{6}}")),
    dict(data_source="my_lab/arith",
         prompt=[dict(role="user", content="2 + 2 = 4."), dict(role="assistant", content="Yes."),
                 dict(role="user", content="And 3 + 4?")],
         ability="math", reward_model=dict(style="rule", ground_truth="7"),
         extra_info=dict(split="test", index=2, answer="7")),
]
schema = pa.schema([("data_source", pa.string()), ("prompt", chat), ("ability", pa.string()),
                    ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
                    ("extra_info", pa.struct([("split", pa.string()), ("index", pa.int64()), ("answer", pa.string())]))])

with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "verl.parquet")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), src)
    dst = os.path.join(HERE, "verl_from_parquet.jsonl")
    subprocess.run([sys.executable, os.path.join(ROOT, "Launch", "parquet-to-jsonl.py"), src, dst], check=True)
