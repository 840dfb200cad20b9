#!/usr/bin/env python3
"""Convert a verl parquet dataset to the JSONL that ispo-cluster reads.

    python3 Launch/parquet-to-jsonl.py in.parquet out.jsonl

verl's preprocessing scripts (examples/data_preprocess/gsm8k.py, math_dataset.py, ...)
write parquet with the columns data_source, prompt (a list of {role, content}),
ability, reward_model {style, ground_truth} and extra_info. ispo-cluster has no
parquet reader (no maintained Swift one exists; see Docs/ConfigReference.md,
"Data files"), so convert once and list the .jsonl in data.train_files /
data.val_files. Every column is kept; one JSON object per row, UTF-8, written
to a temporary file and renamed into place. Needs pyarrow (pip install pyarrow).
"""
import json
import os
import sys


def jsonable(value):
    """Values pyarrow may hand back that json cannot write (bytes, dates, decimals)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def convert(src, dst):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        sys.exit("parquet-to-jsonl: expected pyarrow, found it missing; install it with `pip install pyarrow`")
    if not os.path.isfile(src):
        sys.exit(f"parquet-to-jsonl: {src}: expected a parquet file, found no such file")
    tmp = dst + ".tmp"
    rows = 0
    with open(tmp, "w", encoding="utf-8") as out:
        for batch in pq.ParquetFile(src).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                out.write(json.dumps(row, ensure_ascii=False, default=jsonable) + "\n")
                rows += 1
    os.replace(tmp, dst)
    print(f"parquet-to-jsonl: wrote {rows} rows to {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python3 Launch/parquet-to-jsonl.py in.parquet out.jsonl")
    convert(sys.argv[1], sys.argv[2])
