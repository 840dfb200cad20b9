#!/usr/bin/env python3
"""Reference merges made by real mergekit, for RolesTests/MergekitConformanceTests.

Writes Tests/Fixtures/mergekit/:
  models/{base,a,b,c}/   tiny random Llama models (config.json, model.safetensors in fp32,
                         a 32-token tokenizer with bos/eos/pad; a, b and c carry chat
                         templates, two of them equal so `chat_template: auto` has a plurality)
  models/base.gguf       the base as a GGUF file with its own tokenizer (mergekit reads no GGUF:
                         for the test of the tokenizer files `ispo-cluster merge` writes from it)
  cases/<name>/          mergekit.yaml and what `mergekit-yaml` wrote for it (model.safetensors,
                         config.json, and for the tokenizer cases tokenizer.json,
                         tokenizer_config.json, chat_template.jinja)
  cases.json             one entry per case: name, how to compare (exact, close, dare, error),
                         and for `error` the message mergekit gave

The fine-tuned models are the base plus small random task vectors, so TIES and DARE see
realistic deltas; every tensor is small (norms have 16 entries), so `density: 0.01` gives
⌊density·n⌋ = 0 in every tensor — mergekit then keeps one entry.

The venv (the tests never need it: they read the committed fixtures):

    python3 -m venv /var/tmp/mkvenv
    /var/tmp/mkvenv/bin/pip install --find-links /opt/wheels "torch==2.13.0+cpu"
    /var/tmp/mkvenv/bin/pip install mergekit==0.1.5 "transformers>=5"
    /var/tmp/mkvenv/bin/python Tests/Fixtures/make_mergekit_fixtures.py

(torch from the CPU wheel: a plain `pip install torch` pulls the CUDA build.)
"""
import json
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "mergekit")
MERGEKIT_YAML = os.path.join(os.path.dirname(sys.executable), "mergekit-yaml")

VOCAB, DIM, LAYERS, HEADS, KV_HEADS, FFN = 32, 16, 2, 2, 1, 24

TOKENS = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"] + [f"w{i}" for i in range(VOCAB - 5)]
TEMPLATE_A = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
              "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TEMPLATE_B = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
# Given literally in a config (mergekit takes a string with `{` and ≥ 20 characters as a template).
TEMPLATE_LITERAL = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"


def parameter_shapes():
    hd = DIM // HEADS
    shapes = {"model.embed_tokens.weight": (VOCAB, DIM), "model.norm.weight": (DIM,), "lm_head.weight": (VOCAB, DIM)}
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        shapes.update({
            p + "input_layernorm.weight": (DIM,),
            p + "post_attention_layernorm.weight": (DIM,),
            p + "self_attn.q_proj.weight": (HEADS * hd, DIM),
            p + "self_attn.k_proj.weight": (KV_HEADS * hd, DIM),
            p + "self_attn.v_proj.weight": (KV_HEADS * hd, DIM),
            p + "self_attn.o_proj.weight": (DIM, HEADS * hd),
            p + "mlp.gate_proj.weight": (FFN, DIM),
            p + "mlp.up_proj.weight": (FFN, DIM),
            p + "mlp.down_proj.weight": (DIM, FFN),
        })
    return shapes


def write_tokenizer(folder, chat_template):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(TOKENS)}, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(folder)


def write_model(name, tensors, chat_template):
    from transformers import LlamaConfig

    folder = os.path.join(OUT, "models", name)
    os.makedirs(folder, exist_ok=True)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=DIM, intermediate_size=FFN, num_hidden_layers=LAYERS,
                         num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, max_position_embeddings=64,
                         rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0, dtype="float32")
    config.architectures = ["LlamaForCausalLM"]
    config.save_pretrained(folder)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "model.safetensors"),
              metadata={"format": "pt"})
    write_tokenizer(folder, chat_template)


GGUF_VOCAB = 3 + 256 + 2


def byte_symbols():
    """The 256 characters byte-level BPE (GPT-2) writes bytes as: printable Latin-1 bytes stand for
    themselves, the others are shifted to 256 and up, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    shifted, out = 0, []
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(256 + shifted))
            shifted += 1
    return out


def write_gguf(tensors):
    """models/base.gguf: the base model as llama.cpp would convert it (F32, Q and K rows in GGUF's
    interleaved RoPE order, a byte-level BPE tokenizer with bos/eos/pad ids and a chat template).
    A byte-level vocabulary needs all 256 byte symbols, so this model has GGUF_VOCAB tokens: its
    embedding and head rows are the base's, repeated. mergekit cannot read GGUF; the test checks
    that `ispo-cluster merge` writes this tokenizer and these ids."""
    import gguf
    import numpy as np

    def interleave(w, heads):  # llama.cpp's convert_hf_to_gguf permute of q_proj / k_proj rows
        return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    writer = gguf.GGUFWriter(os.path.join(OUT, "models", "base.gguf"), "llama")
    writer.add_block_count(LAYERS)
    writer.add_context_length(64)
    writer.add_embedding_length(DIM)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    tokens = ["<pad>", "<s>", "</s>"] + byte_symbols() + ["ab", "Ġa"]
    assert len(tokens) == GGUF_VOCAB
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types([3, 3, 3] + [1] * (GGUF_VOCAB - 3))
    writer.add_token_merges(["a b", "Ġ a"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(0)
    writer.add_chat_template(TEMPLATE_A)
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    parts = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
             "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for name, t in tensors.items():
        w = t.numpy().astype(np.float32)
        if name in ("model.embed_tokens.weight", "lm_head.weight"):
            w = np.concatenate([w] * (GGUF_VOCAB // VOCAB + 1))[:GGUF_VOCAB]
        if name in names:
            writer.add_tensor(names[name], w)
            continue
        layer, part = name[len("model.layers."):].split(".", 1)
        part = part[: -len(".weight")]
        if part == "self_attn.q_proj":
            w = interleave(w, HEADS)
        elif part == "self_attn.k_proj":
            w = interleave(w, KV_HEADS)
        writer.add_tensor(f"blk.{layer}.{parts[part]}.weight", np.ascontiguousarray(w))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def make_models():
    g = torch.Generator().manual_seed(20261206)
    shapes = parameter_shapes()
    base = {k: torch.randn(s, generator=g) * 0.1 for k, s in shapes.items()}
    for k in base:
        if k.endswith("norm.weight"):
            base[k] = base[k] + 1
    write_model("base", base, None)
    write_gguf(base)
    # Task vectors of different scales, so weights and trimming matter.
    for name, scale, template in [("a", 0.02, TEMPLATE_A), ("b", 0.05, TEMPLATE_B), ("c", 0.03, TEMPLATE_A)]:
        write_model(name, {k: v + torch.randn(v.shape, generator=g) * scale for k, v in base.items()}, template)


M = "../../models/"

# (name, comparison, yaml). `close`: the project sums in another order (tolerance in the test);
# `exact`: bit for bit; `dare`: statistics; `error`: mergekit refuses the config.
CASES = [
    ("linear_with_base", "close", f"""\
merge_method: linear
base_model: {M}base
models:
  - model: {M}base
    parameters: {{weight: 0.2}}
  - model: {M}a
    parameters: {{weight: 0.5}}
  - model: {M}b
    parameters: {{weight: 0.3}}
dtype: float32
"""),
    ("linear_base_not_listed", "close", f"""\
merge_method: linear
base_model: {M}base
parameters: {{weight: 1.0}}
models:
  - model: {M}a
  - model: {M}b
    parameters: {{weight: 3.0}}
dtype: float32
"""),
    ("linear_base_without_weight", "error", f"""\
merge_method: linear
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 0.5}}
  - model: {M}b
    parameters: {{weight: 0.5}}
dtype: float32
"""),
    ("linear_negative_unnormalized", "close", f"""\
merge_method: linear
models:
  - model: {M}a
    parameters: {{weight: 1.5}}
  - model: {M}b
    parameters: {{weight: -0.5}}
parameters: {{normalize: false}}
dtype: float32
"""),
    ("task_arithmetic_negation", "close", f"""\
merge_method: task_arithmetic
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 1.0}}
  - model: {M}b
    parameters: {{weight: -1.0}}
parameters: {{lambda: 0.8}}
dtype: float32
"""),
    ("task_arithmetic_normalize", "close", f"""\
merge_method: task_arithmetic
base_model: {M}base
models:
  - model: {M}base
  - model: {M}a
    parameters: {{weight: 0.6}}
  - model: {M}b
    parameters: {{weight: 0.4}}
  - model: {M}c
    parameters: {{weight: 0.3}}
parameters: {{normalize: true}}
dtype: float32
"""),
    ("ties", "close", f"""\
merge_method: ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 0.6, density: 0.5}}
  - model: {M}b
    parameters: {{weight: 0.4, density: 0.3}}
  - model: {M}c
    parameters: {{weight: 0.5, density: 0.7}}
parameters: {{int8_mask: true}}
dtype: float32
"""),
    ("ties_tiny_density", "close", f"""\
merge_method: ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 1.0, density: 0.01}}
  - model: {M}b
    parameters: {{weight: 0.5, density: 0.05}}
dtype: float32
"""),
    ("ties_negative_unnormalized", "close", f"""\
merge_method: ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 1.0, density: 0.6}}
  - model: {M}b
    parameters: {{weight: -0.7, density: 0.4}}
parameters: {{normalize: false, lambda: 1.2}}
dtype: float32
"""),
    ("ties_rescale", "close", f"""\
merge_method: ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 0.5, density: 0.4}}
  - model: {M}b
    parameters: {{weight: 0.5, density: 0.2}}
parameters: {{rescale: true}}
dtype: float32
"""),
    ("ties_out_bf16", "close", f"""\
merge_method: ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 0.6, density: 0.5}}
  - model: {M}b
    parameters: {{weight: 0.4, density: 0.5}}
dtype: float32
out_dtype: bfloat16
"""),
    ("dare_linear_single", "dare", f"""\
merge_method: dare_linear
base_model: {M}base
models:
  - model: {M}b
    parameters: {{weight: 1.0, density: 0.3}}
dtype: float32
"""),
    ("dare_linear_no_rescale", "dare", f"""\
merge_method: dare_linear
base_model: {M}base
models:
  - model: {M}b
    parameters: {{weight: 0.8, density: 0.6}}
parameters: {{rescale: false}}
dtype: float32
"""),
    ("dare_ties_pair", "dare", f"""\
merge_method: dare_ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 1.0, density: 0.5}}
  - model: {M}b
    parameters: {{weight: 1.0, density: 0.4}}
dtype: float32
"""),
    ("tokenizer_base_literal_template", "close", f"""\
merge_method: task_arithmetic
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 0.7}}
  - model: {M}b
    parameters: {{weight: 0.3}}
tokenizer_source: base
chat_template: {json.dumps(TEMPLATE_LITERAL)}
dtype: float32
"""),
    ("tokenizer_model_auto_template", "close", f"""\
merge_method: ties
base_model: {M}base
models:
  - model: {M}a
    parameters: {{weight: 0.5, density: 0.5}}
  - model: {M}b
    parameters: {{weight: 0.5, density: 0.5}}
  - model: {M}c
    parameters: {{weight: 0.5, density: 0.5}}
tokenizer_source: {M}c
chat_template: auto
dtype: float32
"""),
    ("chat_template_only", "close", f"""\
merge_method: linear
models:
  - model: {M}a
    parameters: {{weight: 1.0}}
  - model: {M}b
    parameters: {{weight: 1.0}}
chat_template: {json.dumps(TEMPLATE_LITERAL)}
dtype: float32
"""),
]

# What the tests compare; mergekit's other outputs (README.md, mergekit_config.yml) are not kept.
KEEP = ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]


def run_case(name, kind, yaml):
    folder = os.path.join(OUT, "cases", name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "mergekit.yaml"), "w") as f:
        f.write(yaml)
    scratch = os.path.join(folder, "out")
    shutil.rmtree(scratch, ignore_errors=True)
    # mergekit orders the models of a merge as a Python set: a fixed hash seed makes the runs repeatable.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    result = subprocess.run([MERGEKIT_YAML, "mergekit.yaml", "out", "--no-lazy-unpickle", "--random-seed", "7"],
                            cwd=folder, env=env, capture_output=True, text=True)
    entry = {"name": name, "compare": kind}
    if kind == "error":
        if result.returncode == 0:
            sys.exit(f"{name}: mergekit accepted a config expected to fail")
        lines = [l for l in result.stderr.splitlines() if "Error" in l or "error" in l]
        entry["mergekit_error"] = lines[-1].strip() if lines else result.stderr.strip()[-300:]
        shutil.rmtree(scratch, ignore_errors=True)
        return entry
    if result.returncode != 0:
        sys.exit(f"{name}: mergekit failed:\n{result.stderr[-3000:]}")
    for file in KEEP:
        if os.path.exists(os.path.join(scratch, file)):
            shutil.copy(os.path.join(scratch, file), os.path.join(folder, file))
    shutil.rmtree(scratch)
    entry["files"] = sorted(f for f in KEEP if os.path.exists(os.path.join(folder, f)))
    return entry


def main():
    import mergekit.merge  # noqa: F401  (fails early without mergekit)
    from importlib.metadata import version

    shutil.rmtree(OUT, ignore_errors=True)
    make_models()
    entries = [run_case(*case) for case in CASES]
    manifest = {"mergekit": version("mergekit"), "transformers": version("transformers"),
                "torch": torch.__version__, "cases": entries}
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(entries)} cases to {OUT}")


if __name__ == "__main__":
    main()
