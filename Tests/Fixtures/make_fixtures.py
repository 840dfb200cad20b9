#!/usr/bin/env python3
"""Reference fixtures for the whole-model tests (TransformerTests/ReferenceModelTests).

An independent float64 PyTorch implementation of the Llama/Qwen2 decoder
(GQA, both RoPE conventions, optional QKV bias, tied or untied head) computes
logits, the token-weighted cross-entropy, every named gradient, and the loss
over 10 steps of torch.optim.AdamW with global-norm clipping and a warmup +
cosine schedule. Parameters come from numpy with a fixed seed and are stored
in the fixture, so the Swift side starts from the same weights.

    python3 Tests/Fixtures/make_fixtures.py     # writes Tests/Fixtures/*.json

Needs numpy and torch (CPU build); the fixtures are committed, so the tests
themselves need neither.
"""
import json
import math
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))


def layout(cfg):
    """(name, shape, decays) in the order of Sources/Transformer/ParameterLayout.swift."""
    C, hd = cfg["dim"], cfg["dim"] // cfg["heads"]
    out = [("model.embed_tokens.weight", (cfg["vocabSize"], C), True)]
    for l in range(cfg["layers"]):
        p = f"model.layers.{l}."
        out += [(p + "input_layernorm.weight", (C,), False),
                (p + "self_attn.q_proj.weight", (cfg["heads"] * hd, C), True),
                (p + "self_attn.k_proj.weight", (cfg["kvHeads"] * hd, C), True),
                (p + "self_attn.v_proj.weight", (cfg["kvHeads"] * hd, C), True)]
        if cfg["qkvBias"]:
            out += [(p + "self_attn.q_proj.bias", (cfg["heads"] * hd,), False),
                    (p + "self_attn.k_proj.bias", (cfg["kvHeads"] * hd,), False),
                    (p + "self_attn.v_proj.bias", (cfg["kvHeads"] * hd,), False)]
        out += [(p + "self_attn.o_proj.weight", (C, cfg["heads"] * hd), True),
                (p + "post_attention_layernorm.weight", (C,), False),
                (p + "mlp.gate_proj.weight", (cfg["ffnDim"], C), True),
                (p + "mlp.up_proj.weight", (cfg["ffnDim"], C), True),
                (p + "mlp.down_proj.weight", (C, cfg["ffnDim"]), True)]
    out.append(("model.norm.weight", (C,), False))
    if not cfg["tiedEmbeddings"]:
        out.append(("lm_head.weight", (cfg["vocabSize"], C), True))
    return out


def rope(x, cfg):
    """x: (B, T, heads, hd) -> rotated, in the convention named by cfg."""
    B, T, H, hd = x.shape
    half = hd // 2
    freqs = cfg["ropeTheta"] ** (-2.0 * torch.arange(half) / hd)
    ang = torch.arange(T)[:, None] * freqs[None, :]          # (T, half)
    cos, sin = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
    if cfg["ropeStyle"] == "rotate_half":
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1)
    return out.reshape(B, T, H, hd)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def forward(P, tokens, cfg):
    B, T = tokens.shape
    H, G, hd = cfg["heads"], cfg["kvHeads"], cfg["dim"] // cfg["heads"]
    x = P["model.embed_tokens.weight"][tokens]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(cfg["layers"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, P[p + "input_layernorm.weight"], cfg["normEps"])
        q = h @ P[p + "self_attn.q_proj.weight"].T
        k = h @ P[p + "self_attn.k_proj.weight"].T
        v = h @ P[p + "self_attn.v_proj.weight"].T
        if cfg["qkvBias"]:
            q = q + P[p + "self_attn.q_proj.bias"]
            k = k + P[p + "self_attn.k_proj.bias"]
            v = v + P[p + "self_attn.v_proj.bias"]
        q = rope(q.view(B, T, H, hd), cfg).transpose(1, 2)
        k = rope(k.view(B, T, G, hd), cfg).transpose(1, 2).repeat_interleave(H // G, dim=1)
        v = v.view(B, T, G, hd).transpose(1, 2).repeat_interleave(H // G, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf"))
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + a @ P[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], cfg["normEps"])
        g = h @ P[p + "mlp.gate_proj.weight"].T
        u = h @ P[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ P[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, P["model.norm.weight"], cfg["normEps"])
    head = P["model.embed_tokens.weight"] if cfg["tiedEmbeddings"] else P["lm_head.weight"]
    return x @ head.T


def weighted_ce(logits, targets, weights):
    V = logits.shape[-1]
    lp = torch.log_softmax(logits.reshape(-1, V), -1)
    t = targets.reshape(-1)
    w = weights.reshape(-1) * (t >= 0)
    nll = -lp[torch.arange(t.numel()), t.clamp(min=0)]
    return (w * nll).sum() / w.sum()


def lr_lambda(step, warmup, total, min_ratio):
    """Mirror of Sources/Optimization/LRSchedule.swift as a multiplier of peak."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make(name, cfg, seed):
    rng = np.random.default_rng(seed)
    P = {}
    for pname, shape, _ in layout(cfg):
        if pname.endswith("norm.weight"):
            arr = 1 + 0.1 * rng.standard_normal(shape)
        else:
            arr = 0.15 * rng.standard_normal(shape)
        # Round to fp32 so both sides start from identical values.
        P[pname] = torch.tensor(arr.astype(np.float32).astype(np.float64), requires_grad=True)
    B, T = 2, 7
    tokens = torch.tensor(rng.integers(0, cfg["vocabSize"], (B, T)))
    targets = torch.tensor(rng.integers(0, cfg["vocabSize"], (B, T)))
    targets[0, 2] = -1                      # a position without loss
    weights = torch.tensor(rng.uniform(0.2, 2.0, (B, T)).astype(np.float32).astype(np.float64))
    weights[1, 4] = 0.0                     # a zero weight

    logits = forward(P, tokens, cfg)
    loss = weighted_ce(logits, targets, weights)
    loss.backward()
    grads = {n: P[n].grad.detach().clone() for n in P}

    opt_cfg = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weightDecay=0.1, maxNorm=1.0,
                   warmup=3, total=10, minRatio=0.1, steps=10)
    decays = {n: d for n, _, d in layout(cfg)}
    opt = torch.optim.AdamW(
        [{"params": [P[n] for n in P if decays[n]], "weight_decay": opt_cfg["weightDecay"]},
         {"params": [P[n] for n in P if not decays[n]], "weight_decay": 0.0}],
        lr=opt_cfg["lr"], betas=(opt_cfg["beta1"], opt_cfg["beta2"]), eps=opt_cfg["eps"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_lambda(s, opt_cfg["warmup"], opt_cfg["total"], opt_cfg["minRatio"]))
    losses, norms = [], []
    for _ in range(opt_cfg["steps"]):
        opt.zero_grad()
        l = weighted_ce(forward(P, tokens, cfg), targets, weights)
        l.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(P.values()), opt_cfg["maxNorm"])))
        losses.append(float(l.detach()))
        opt.step()
        sched.step()
    with torch.no_grad():
        final = float(weighted_ce(forward(P, tokens, cfg), targets, weights))

    def flat(t):
        return [float(v) for v in t.detach().reshape(-1)]

    init = {}
    rng2 = np.random.default_rng(seed)  # regenerate the initial values (P was trained in place)
    for pname, shape, _ in layout(cfg):
        arr = 1 + 0.1 * rng2.standard_normal(shape) if pname.endswith("norm.weight") else 0.15 * rng2.standard_normal(shape)
        init[pname] = [float(v) for v in arr.astype(np.float32).reshape(-1)]
    fixture = {
        "name": name,
        "generator": "Tests/Fixtures/make_fixtures.py (PyTorch %s, float64)" % torch.__version__,
        "config": cfg,
        "batch": {"batchSize": B, "seqLen": T, "tokens": flat(tokens), "targets": flat(targets),
                  "weights": flat(weights)},
        "parameters": init,
        "logits": flat(logits),
        "loss": float(loss),
        "gradients": {n: flat(g) for n, g in grads.items()},
        "adamw": dict(opt_cfg, losses=losses, gradNorms=norms, finalLoss=final),
    }
    path = os.path.join(HERE, name + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {path}: loss {float(loss):.6f}, after 10 steps {final:.6f}")


BASE = dict(vocabSize=61, dim=32, layers=2, heads=4, kvHeads=2, ffnDim=48, maxSeqLen=16,
            ropeTheta=10000.0, normEps=1e-5)

if __name__ == "__main__":
    make("tiny_rotate_half", dict(BASE, ropeStyle="rotate_half", tiedEmbeddings=False, qkvBias=True), 1234)
    make("tiny_interleaved", dict(BASE, ropeStyle="interleaved", tiedEmbeddings=True, qkvBias=False), 5678)
