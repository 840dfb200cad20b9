"""Helpers shared by the experiment report scripts (ispo_report.py, motab_report.py)."""
import json
import statistics


def load_run(path, step_key):
    """(step metrics, evaluations) of one run's metrics.jsonl: steps are the
    lines holding `step_key`, evaluations the lines with val-core/ keys; the
    last line of a step wins."""
    steps, evals = {}, {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            d, s = rec["data"], rec["step"]
            if step_key in d:
                steps[s] = d
            if any(k.startswith("val-core/") for k in d):
                evals[s] = d
    return steps, evals


def mean_std(xs):
    """Mean and sample std of the values that are not None; (None, None) when there are none."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)
