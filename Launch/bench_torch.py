#!/usr/bin/env python3
"""PyTorch side of `ispo-cluster bench model`: times one training step
(forward, token cross-entropy, backward, AdamW) of the same Llama-family
config in eager fp32 PyTorch on the given thread count, and prints JSON.

    python3 Launch/bench_torch.py --threads 2 --steps 5

Only used for side-by-side benchmarks; nothing at run or test time needs torch.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, heads, kv_heads, ffn):
        super().__init__()
        self.h, self.g, self.hd = heads, kv_heads, d // heads
        self.n1 = torch.nn.RMSNorm(d, eps=1e-5)
        self.q = torch.nn.Linear(d, heads * self.hd, bias=False)
        self.k = torch.nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v = torch.nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o = torch.nn.Linear(heads * self.hd, d, bias=False)
        self.n2 = torch.nn.RMSNorm(d, eps=1e-5)
        self.gate = torch.nn.Linear(d, ffn, bias=False)
        self.up = torch.nn.Linear(d, ffn, bias=False)
        self.down = torch.nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.g, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.g, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.g != self.h)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Llama(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads, kv_heads, ffn, seq):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads, kv_heads, ffn) for _ in range(layers))
        self.norm = torch.nn.RMSNorm(d, eps=1e-5)
        self.head = torch.nn.Linear(d, vocab, bias=False)
        hd = d // heads
        freqs = 10000.0 ** (-2.0 * torch.arange(hd // 2) / hd)
        ang = torch.arange(seq)[:, None] * freqs[None, :]
        self.register_buffer("cos", torch.cos(ang))
        self.register_buffer("sin", torch.sin(ang))

    def forward(self, tokens):
        T = tokens.shape[1]
        x = self.emb(tokens)
        for b in self.blocks:
            x = b(x, self.cos[:T], self.sin[:T])
        return self.head(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=768)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Llama(a.vocab, a.dim, a.layers, a.heads, a.kv_heads, a.ffn, a.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=True)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq))
    targets = torch.randint(0, a.vocab, (a.batch, a.seq))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, a.vocab), targets.view(-1))
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "threads": torch.get_num_threads(),
        "step_seconds_median": median,
        "step_seconds_all": times,
        "train_tokens_per_s": a.batch * a.seq / median,
    }))


if __name__ == "__main__":
    main()
