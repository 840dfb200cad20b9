#!/usr/bin/env python3
"""Cluster benchmark: per-step timing breakdown (generation, reward, update,
sync) and rollout tokens/s at world sizes 1, 2, 4 and 8 (4 and 8 are
oversubscribed on a 2-core machine), on the built-in tiny-model RL job.

    python3 Launch/bench_cluster.py [--sizes 1 2 4 8] [--steps 6] [--repeats 2]

Prints JSON: medians over steps 2..N of each run, median over repeats, and
each size's rollout throughput as a ratio to world size 1 from the same run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

KEYS = ["timing_s/gen", "timing_s/reward", "timing_s/update_actor", "timing_s/sync_weights", "timing_s/step",
        "perf/rollout_tokens_per_s", "perf/throughput"]


def run(size, steps, tag):
    name = f"bench-cluster-{size}-{tag}"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_MCA_mpi_yield_when_idle="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = ["mpirun", "-n", str(size), "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS", "-x", "OMPI_MCA_mpi_yield_when_idle",
           ".build/release/ispo-cluster", "run", "--sft-steps", "0", "trainer.pipeline=rl",
           f"trainer.experiment_name={name}", f"trainer.total_steps={steps}", "trainer.val_before_train=false",
           "trainer.test_freq=-1", "trainer.dump_rollouts=false"]
    if size == 1:
        cmd = cmd[cmd.index(".build/release/ispo-cluster"):]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(f"runs/{name}/metrics.jsonl")]
    steps_rows = [r["data"] for r in rows if r["step"] >= 2 and "timing_s/step" in r["data"]]
    return {k: statistics.median(r[k] for r in steps_rows) for k in KEYS if all(k in r for r in steps_rows)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    results = {s: [] for s in a.sizes}
    for rep in range(a.repeats):          # sizes interleaved within each repeat: noise hits all alike
        for s in a.sizes:
            print(f"[bench-cluster] repeat {rep + 1}, world size {s}", file=sys.stderr)
            results[s].append(run(s, a.steps, rep))
    table = {}
    for s, runs in results.items():
        table[str(s)] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    base = table[str(a.sizes[0])]["perf/rollout_tokens_per_s"]
    for s in table:
        table[s]["rollout_speed_ratio_vs_size_%d" % a.sizes[0]] = table[s]["perf/rollout_tokens_per_s"] / base
    print(json.dumps({"job": "tiny model, synthetic addition:2, rollout.n=8, 16 prompts/step", "steps": a.steps,
                      "repeats": a.repeats, "world_sizes": table}, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
