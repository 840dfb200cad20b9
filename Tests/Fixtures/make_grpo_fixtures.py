#!/usr/bin/env python3
"""Reference fixture for the GRPO policy loss (ObjectivesTests/PolicyLossFixtureTests).

verl's actor loss written out in float64 PyTorch, in verl's own (batch,
response_length) layout with a response mask: compute_policy_loss_vanilla
(clamped log-ratio, clip-higher, dual clip, per-token weights on the
surrogate), kl_penalty (kl / mse / low_var_kl), entropy_from_logits, agg_loss
(token-mean, seq-mean-token-mean, seq-mean-token-sum-norm with the max length
as loss_scale_factor), policy_loss = pg - entropy_coeff * entropy + kl_coef * kl.
Autograd gives d loss / d logits. The Swift side sees the same data packed as
rows (masked positions -> target -1, sequence id = batch index).

Logits and log-probs are drawn by numpy and rounded to fp32 (what Swift
holds); the reference then runs in float64, so the measured error is ours.
Old log-probs are placed so ratios land in every clip region (inside, above
1 + eps_high, below 1 - eps_low, beyond the dual-clip bound) with both signs of
the advantage.

    python3 Tests/Fixtures/make_grpo_fixtures.py   # writes Tests/Fixtures/grpo_policy_loss.json
"""
import json
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum()


def agg_loss(loss_mat, mask, mode):
    if mode == "token-mean":
        return masked_mean(loss_mat, mask)
    if mode == "seq-mean-token-mean":
        seq = (loss_mat * mask).sum(-1) / mask.sum(-1)
        return seq.mean()
    if mode == "seq-mean-token-sum-norm":
        return (loss_mat * mask).sum(-1).sum() / mask.shape[-1]
    raise ValueError(mode)


def kl_penalty(logprob, ref, kind):
    if kind == "kl":
        return logprob - ref
    if kind == "mse":
        return 0.5 * (logprob - ref).square()
    kl = torch.clamp(ref - logprob, min=-20, max=20)
    return torch.clamp(torch.exp(kl) - kl - 1, min=-10, max=10)


def actor_loss(logits, tokens, mask, old, adv, ref, weights, cfg):
    logp_all = torch.log_softmax(logits, dim=-1)
    log_prob = logp_all.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    p = torch.softmax(logits, dim=-1)
    entropy = torch.logsumexp(logits, dim=-1) - (p * logits).sum(-1)

    neg_kl = torch.clamp(log_prob - old, min=-20.0, max=20.0)
    ratio = torch.exp(neg_kl)
    ppo_kl = masked_mean(-neg_kl, mask)
    l1 = -adv * ratio
    l2 = -adv * torch.clamp(ratio, 1 - cfg["clipLow"], 1 + cfg["clipHigh"])
    c1 = torch.maximum(l1, l2)
    clipfrac = masked_mean(torch.gt(l2, l1).double(), mask)
    l3 = -adv * cfg["clipC"]
    c2 = torch.min(l3, c1)
    clipfrac_lower = masked_mean(torch.gt(c1, l3).double() * (adv < 0).double(), mask)
    pg_losses = torch.where(adv < 0, c2, c1) * weights
    mode = cfg["aggregation"]
    pg_loss = agg_loss(pg_losses, mask, mode)
    ent = agg_loss(entropy, mask, mode)
    kl = agg_loss(kl_penalty(log_prob, ref, cfg["klType"]), mask, mode)
    loss = pg_loss - cfg["entropyCoeff"] * ent + cfg["klCoef"] * kl
    metrics = {"actor/pg_loss": pg_loss.item(), "actor/pg_clipfrac": clipfrac.item(),
               "actor/ppo_kl": ppo_kl.item(), "actor/pg_clipfrac_lower": clipfrac_lower.item(),
               "actor/entropy": ent.item(), "actor/kl_loss": kl.item()}
    return loss, metrics


def make_case(rng, cfg, B=4, T=6, V=21):
    logits32 = (rng.standard_normal((B, T, V)) * 2.0).astype(np.float32)
    tokens = rng.integers(0, V, size=(B, T))
    lengths = [T, 4, 5, 2]                       # response lengths: masks of different sizes
    mask = np.zeros((B, T))
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    adv = np.array([1.3, -0.8, -1.7, 0.6])[:, None] * np.ones((B, T))
    logits = torch.tensor(logits32.astype(np.float64))
    with torch.no_grad():
        logp = torch.log_softmax(logits, -1).gather(-1, torch.tensor(tokens).unsqueeze(-1)).squeeze(-1).numpy()
    # log-ratios: inside, above 1+eps_high, below 1-eps_low, beyond clip_ratio_c, ...
    deltas = np.log(np.array([1.05, 1.6, 0.55, 4.5, 0.9, 2.2]))
    delta = np.stack([np.roll(deltas, -b) for b in range(B)])
    old = (logp - delta).astype(np.float32)
    ref = (logp + rng.uniform(-0.7, 0.7, size=(B, T))).astype(np.float32)
    weights = rng.uniform(0.25, 1.75, size=(B, T)).astype(np.float32)
    adv = adv.astype(np.float32)

    x = logits.clone().requires_grad_(True)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))
    loss, metrics = actor_loss(x, torch.tensor(tokens), t(mask), t(old), t(adv), t(ref), t(weights), cfg)
    loss.backward()
    flat_mask = mask.reshape(-1)
    return {
        "config": cfg, "rows": B * T, "vocab": V,
        "logits": logits32.reshape(-1).astype(float).tolist(),
        "targets": [int(tok) if m > 0 else -1 for tok, m in zip(tokens.reshape(-1), flat_mask)],
        "sequenceIds": [b for b in range(B) for _ in range(T)],
        "oldLogProbs": old.reshape(-1).astype(float).tolist(),
        "advantages": adv.reshape(-1).astype(float).tolist(),
        "refLogProbs": ref.reshape(-1).astype(float).tolist(),
        "weights": weights.reshape(-1).astype(float).tolist(),
        "loss": loss.item(), "dlogits": x.grad.reshape(-1).tolist(), "metrics": metrics,
    }


def main():
    rng = np.random.default_rng(20250601)
    base = {"clipLow": 0.2, "clipHigh": 0.28, "clipC": 3.0, "entropyCoeff": 0.05, "klCoef": 0.1}
    cases = [dict(base, aggregation="token-mean", klType="low_var_kl"),
             dict(base, aggregation="seq-mean-token-mean", klType="kl"),
             dict(base, aggregation="seq-mean-token-sum-norm", klType="mse")]
    out = {"generator": "Tests/Fixtures/make_grpo_fixtures.py (PyTorch %s, float64)" % torch.__version__,
           "cases": [make_case(rng, cfg) for cfg in cases]}
    path = os.path.join(HERE, "grpo_policy_loss.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", path)


if __name__ == "__main__":
    main()
