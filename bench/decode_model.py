#!/usr/bin/env python3
"""Decode speed of a Qwen3-0.6B-shaped model with three attentions: SDPA with enable_gqa (the
backend torch picks), repeat_kv + SDPA (common model code), and an op exported by `kforge export`
from tasks/cuda/gqa_decode (docs/export.md).

The model is built in plain torch from Qwen3-0.6B's configuration (hidden 1024, 28 layers, 16
query heads, 8 KV heads, head dim 128, MLP 3072, vocabulary 151936, RMSNorm, RoPE with theta 1e6,
RMSNorm on q and k per head, tied embeddings) with random weights (seeded, std 0.02): nothing is
downloaded. For each batch and prompt length, one prefill (causal SDPA) fills a KV cache of
capacity prompt + new tokens; each attention then decodes greedily from its own copy of that
cache, in eager mode, with the whole loop between two device synchronisations.

Reported per point and attention: tokens per second (batch x new tokens over the loop's time),
the share of decode time in attention (1 - the loop's time with attention skipped, an output of
zeros, over its time), and against SDPA: the first step whose greedy token differs, and the
largest logit difference while the tokens agree, next to the logits' own spread.

usage: decode_model.py --op PACKAGE_DIR [--batch 1 8] [--prompt 1024 4096 16384]
                       [--new-tokens 256] [--agree-steps 32] [--json OUT]
"""

import argparse
import importlib
import json
import math
import pathlib
import sys
import time

import torch
import torch.nn.functional as F

CONFIG = dict(hidden=1024, layers=28, heads=16, kv_heads=8, head_dim=128, intermediate=3072,
              vocab=151936, eps=1e-6, rope_theta=1e6)


class Model:
    def __init__(self, device, dtype, seed=0):
        c = CONFIG
        g = torch.Generator(device="cpu").manual_seed(seed)

        def w(*shape, std=0.02):
            return (torch.randn(*shape, generator=g) * std).to(device=device, dtype=dtype)

        h, hd = c["hidden"], c["head_dim"]
        self.embed = w(c["vocab"], h)
        self.layers = []
        for _ in range(c["layers"]):
            self.layers.append(dict(
                ln1=torch.ones(h, device=device, dtype=dtype),
                ln2=torch.ones(h, device=device, dtype=dtype),
                wq=w(c["heads"] * hd, h), wk=w(c["kv_heads"] * hd, h), wv=w(c["kv_heads"] * hd, h),
                wo=w(h, c["heads"] * hd),
                q_norm=torch.ones(hd, device=device, dtype=dtype),
                k_norm=torch.ones(hd, device=device, dtype=dtype),
                gate=w(c["intermediate"], h), up=w(c["intermediate"], h), down=w(h, c["intermediate"])))
        self.norm = torch.ones(h, device=device, dtype=dtype)
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        self.inv_freq = inv.to(device=device, dtype=torch.float32)

    @staticmethod
    def rms(x, weight):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + CONFIG["eps"])
        return weight * xf.to(x.dtype)

    def rope(self, x, pos):
        # x [B, H, T, D], pos [T]
        freqs = pos.float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, tokens, cache, start, attend):
        """tokens [B, T] at positions start..start+T-1; writes K and V into the cache; returns
        the last position's logits in float32."""
        c = CONFIG
        B, T = tokens.shape
        pos = torch.arange(start, start + T, device=tokens.device)
        x = F.embedding(tokens, self.embed)
        for i, L in enumerate(self.layers):
            h = self.rms(x, L["ln1"])
            q = (h @ L["wq"].T).view(B, T, c["heads"], c["head_dim"])
            k = (h @ L["wk"].T).view(B, T, c["kv_heads"], c["head_dim"])
            v = (h @ L["wv"].T).view(B, T, c["kv_heads"], c["head_dim"])
            q = self.rope(self.rms(q, L["q_norm"]).transpose(1, 2), pos)
            k = self.rope(self.rms(k, L["k_norm"]).transpose(1, 2), pos)
            kc, vc = cache[i]
            kc[:, :, start:start + T] = k
            vc[:, :, start:start + T].copy_(v.transpose(1, 2))
            o = attend(q, kc, vc, start + T)  # [B, heads, T, head_dim]
            x = x + o.transpose(1, 2).reshape(B, T, -1) @ L["wo"].T
            h = self.rms(x, L["ln2"])
            x = x + (F.silu(h @ L["gate"].T) * (h @ L["up"].T)) @ L["down"].T
        x = self.rms(x[:, -1], self.norm)
        return (x @ self.embed.T).float()


def repeat_kv(x, n):
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n, t, d).reshape(b, h * n, t, d)


def attention_variants(op_module):
    def sdpa(q, kc, vc, length):
        return F.scaled_dot_product_attention(q, kc[:, :, :length], vc[:, :, :length],
                                              is_causal=q.shape[2] > 1, enable_gqa=True)

    def sdpa_repeat_kv(q, kc, vc, length):
        n = q.shape[1] // kc.shape[1]
        return F.scaled_dot_product_attention(q, repeat_kv(kc[:, :, :length], n),
                                              repeat_kv(vc[:, :, :length], n))

    lens = {}

    def exported(q, kc, vc, length):
        B = q.shape[0]
        key = (B, length, q.device)
        if key not in lens:
            lens.clear()
            lens[key] = torch.full((B,), length, dtype=torch.int32, device=q.device)
        out = op_module.gqa_decode(q.reshape(B, q.shape[1], q.shape[3]), kc, vc, lens[key])
        return out.view(B, q.shape[1], 1, q.shape[3])

    def none(q, kc, vc, length):
        return torch.zeros_like(q)

    variants = {"sdpa": sdpa, "repeat_kv+sdpa": sdpa_repeat_kv}
    if op_module is not None:
        variants["kforge op"] = exported
    return variants, none


def decode(model, cache, first, start, steps, attend):
    tokens, logits = [first], []
    tok = first
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for s in range(steps):
        lg = model.forward(tok[:, None], cache, start + s, attend)
        tok = lg.argmax(-1)
        tokens.append(tok)
        logits.append(lg)
    torch.cuda.synchronize()
    return time.perf_counter() - t0, torch.stack(tokens[1:], 1), logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--op", help="the package kforge export wrote (its directory)")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--prompt", type=int, nargs="+", default=[1024, 4096, 16384])
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--agree-steps", type=int, default=32)
    ap.add_argument("--json")
    args = ap.parse_args()
    op_module = None
    if args.op:
        pkg = pathlib.Path(args.op).resolve()
        sys.path.insert(0, str(pkg.parent))
        op_module = importlib.import_module(pkg.name)
        op_module.set_value_checks(False)  # lengths come from the loop; the check would sync
    device, dtype = torch.device("cuda"), torch.bfloat16
    torch.manual_seed(0)
    model = Model(device, dtype)
    variants, none = attention_variants(op_module)
    c = CONFIG
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16, eager")
    print("| batch | prompt | attention | tokens/s | ms/token | attention share | "
          "first differing step | max logit diff (agreeing steps) |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for B in args.batch:
        for P in args.prompt:
            cap = P + args.new_tokens + 1
            cache = [(torch.zeros(B, c["kv_heads"], cap, c["head_dim"], device=device, dtype=dtype),
                      torch.zeros(B, c["kv_heads"], cap, c["head_dim"], device=device, dtype=dtype))
                     for _ in range(c["layers"])]
            prompt = torch.randint(0, c["vocab"], (B, P), device=device,
                                   generator=torch.Generator(device=device).manual_seed(P + B))
            with torch.no_grad():
                first = model.forward(prompt, cache, 0, variants["sdpa"]).argmax(-1)
                snapshot = [(k.clone(), v.clone()) for k, v in cache]

                def run(attend):
                    for (k, v), (k0, v0) in zip(cache, snapshot):
                        k.copy_(k0)
                        v.copy_(v0)
                    # A short warm-up (first calls compile or pick kernels), then the timed loop.
                    decode(model, cache, first, P, 2, attend)
                    for (k, v), (k0, v0) in zip(cache, snapshot):
                        k.copy_(k0)
                        v.copy_(v0)
                    return decode(model, cache, first, P, args.new_tokens, attend)

                t_none, _, _ = run(none)
                ref_t, ref_tokens, ref_logits = None, None, None
                for name, attend in variants.items():
                    t, tokens, logits = run(attend)
                    if ref_tokens is None:
                        ref_t, ref_tokens, ref_logits = t, tokens, logits
                    n = min(args.agree_steps, args.new_tokens)
                    differ = (tokens[:, :n] != ref_tokens[:, :n]).any(0).nonzero()
                    first_diff = int(differ[0]) if len(differ) else None
                    agree = n if first_diff is None else first_diff
                    diff = max([float((a - b).abs().max()) for a, b in
                                zip(logits[:agree + 1], ref_logits[:agree + 1])] or [0.0])
                    spread = float(torch.stack(ref_logits[:n]).std())
                    r = dict(batch=B, prompt=P, attention=name, seconds=t,
                             tokens_per_s=B * args.new_tokens / t,
                             ms_per_token=1e3 * t / args.new_tokens,
                             attention_share=max(0.0, 1 - t_none / t),
                             first_differing_step=first_diff, agree_steps=n,
                             max_logit_diff=diff, logit_std=spread,
                             speedup_vs_sdpa=ref_t / t)
                    results.append(r)
                    print(f"| {B} | {P} | {name} | {r['tokens_per_s']:.1f} | "
                          f"{r['ms_per_token']:.3f} | {100 * r['attention_share']:.0f}% | "
                          f"{'none in ' + str(n) if first_diff is None else first_diff} | "
                          f"{diff:.3g} (logit std {spread:.3g}) |", flush=True)
            del cache, snapshot
            torch.cuda.empty_cache()
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(dict(
            device=torch.cuda.get_device_name(), torch=torch.__version__, config=CONFIG,
            new_tokens=args.new_tokens, results=results), indent=1))


if __name__ == "__main__":
    main()
