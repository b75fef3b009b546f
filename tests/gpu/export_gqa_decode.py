#!/usr/bin/env python3
"""GPU check of `kforge export` on the CUDA task gqa_decode (docs/export.md): exports a program
as a PyTorch op, imports it without kforge, checks it against attention computed by torch in
float32 on uneven per-sequence lengths, calls it with bad arguments, traces it with
torch.compile, and times it against SDPA (enable_gqa: the backend torch picks and each fused
backend that runs) and repeat_kv + SDPA at batch 1, 8, 32 by context 1k, 4k, 16k, with the HBM
floor (K and V read once at the measured device copy bandwidth).

usage: export_gqa_decode.py KFORGE_BIN REPO_ROOT [PROGRAM] [--json OUT] [--no-timing]
"""

import argparse
import importlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

HEADS, KV_HEADS, DIM = 16, 8, 128


def reference(q, k, v, lens):
    out = torch.empty(q.shape, dtype=torch.float32, device=q.device)
    for b in range(q.shape[0]):
        n = int(lens[b])
        kb = k[b, :, :n].float().repeat_interleave(HEADS // KV_HEADS, 0)  # [16, n, 128]
        vb = v[b, :, :n].float().repeat_interleave(HEADS // KV_HEADS, 0)
        s = torch.einsum("hd,hnd->hn", q[b].float(), kb) / DIM ** 0.5
        out[b] = torch.einsum("hn,hnd->hd", torch.softmax(s, -1), vb)
    return out


def raises(exc, words, fn, *args):
    try:
        fn(*args)
    except exc as e:
        for w in words:
            assert w in str(e), f"{exc.__name__} '{e}' does not name '{w}'"
        return
    raise AssertionError(f"no {exc.__name__} for {words}")


def check(mod):
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(1)
    for B, cap, lens in [(3, 1000, [1, 999, 517]), (1, 16384, [16383]), (5, 77, [77, 1, 64, 65, 33]),
                         (33, 300, list(range(1, 298, 9)))]:
        q = torch.randn(B, HEADS, DIM, device=dev, generator=g).bfloat16()
        k = torch.randn(B, KV_HEADS, cap, DIM, device=dev, generator=g).bfloat16()
        v = torch.randn(B, KV_HEADS, cap, DIM, device=dev, generator=g).bfloat16()
        lens_t = torch.tensor(lens, dtype=torch.int32, device=dev)
        out = mod.gqa_decode(q, k, v, lens_t)
        torch.testing.assert_close(out.float(), reference(q, k, v, lens_t), atol=1e-3, rtol=1e-2)
        assert torch.equal(out, mod.gqa_decode(q, k, v, lens_t)), "not reproducible"
    # A non-contiguous q (heads-major view of [B, 1, 16, 128]) is copied, not misread.
    qt = torch.randn(3, HEADS, 2, DIM, device=dev).bfloat16()[:, :, 0]
    k = torch.randn(3, KV_HEADS, 50, DIM, device=dev).bfloat16()
    v = torch.randn(3, KV_HEADS, 50, DIM, device=dev).bfloat16()
    lens_t = torch.tensor([50, 7, 1], dtype=torch.int32, device=dev)
    assert not qt.is_contiguous()
    torch.testing.assert_close(mod.gqa_decode(qt, k, v, lens_t).float(), reference(qt, k, v, lens_t),
                               atol=1e-3, rtol=1e-2)
    q = qt.contiguous()
    raises(ValueError, ["seq_lens", "[1, 50]", "got 0"], mod.gqa_decode, q, k, v,
           torch.tensor([50, 0, 1], dtype=torch.int32, device=dev))
    raises(ValueError, ["seq_lens", "[1, 50]", "got 51"], mod.gqa_decode, q, k, v,
           torch.tensor([51, 1, 1], dtype=torch.int32, device=dev))
    raises(TypeError, ["q", "torch.bfloat16", "torch.float32"], mod.gqa_decode, q.float(), k, v, lens_t)
    raises(TypeError, ["seq_lens", "torch.int32"], mod.gqa_decode, q, k, v, lens_t.long())
    raises(ValueError, ["k_cache", "CUDA", "cpu"], mod.gqa_decode, q, k.cpu(), v, lens_t)
    raises(ValueError, ["q", "[3, 16, 128]"], mod.gqa_decode,
           torch.randn(3, 8, DIM, device=dev).bfloat16(), k, v, lens_t)
    raises(ValueError, ["v_cache", "[3, 8, 50, 128]"], mod.gqa_decode, q, k, v[:, :, :49], lens_t)
    compiled = torch.compile(lambda *a: mod.gqa_decode(*a) * 2, backend="aot_eager", fullgraph=True)
    torch.testing.assert_close(compiled(q, k, v, lens_t), mod.gqa_decode(q, k, v, lens_t) * 2)
    print("export checks passed: answers within the task's tolerance, bad input refused, traced")


def median_us(fn, flush, reps=50):
    start = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    end = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for _ in range(3):
        fn()
    for i in range(reps):
        flush.zero_()  # evicts K and V from the L2
        start[i].record()
        fn()
        end[i].record()
    torch.cuda.synchronize()
    return 1e3 * statistics.median(s.elapsed_time(e) for s, e in zip(start, end))


def timing(mod):
    dev = torch.device("cuda")
    flush = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    src = torch.empty(2 << 30, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    copy_us = median_us(lambda: dst.copy_(src), flush, 10)
    bandwidth = 2 * src.numel() / (copy_us * 1e-6)  # read + write, bytes/s
    del src, dst
    mod.set_value_checks(False)
    rows = []
    for B in (1, 8, 32):
        for L in (1024, 4096, 16384):
            q = torch.randn(B, HEADS, DIM, device=dev).bfloat16()
            k = torch.randn(B, KV_HEADS, L, DIM, device=dev).bfloat16()
            v = torch.randn(B, KV_HEADS, L, DIM, device=dev).bfloat16()
            lens = torch.full((B,), L, dtype=torch.int32, device=dev)
            q4 = q[:, :, None]
            row = dict(batch=B, ctx=L)
            row["floor_us"] = 1e6 * 2 * k.numel() * 2 / bandwidth
            row["kforge_op_us"] = median_us(lambda: mod.gqa_decode(q, k, v, lens), flush)
            row["sdpa_us"] = median_us(
                lambda: F.scaled_dot_product_attention(q4, k, v, enable_gqa=True), flush)
            for name, backend in [("flash", SDPBackend.FLASH_ATTENTION),
                                  ("efficient", SDPBackend.EFFICIENT_ATTENTION),
                                  ("cudnn", SDPBackend.CUDNN_ATTENTION)]:
                try:
                    with sdpa_kernel([backend]):
                        row[f"sdpa_{name}_us"] = median_us(
                            lambda: F.scaled_dot_product_attention(q4, k, v, enable_gqa=True), flush)
                except RuntimeError:
                    row[f"sdpa_{name}_us"] = None
            row["repeat_kv_sdpa_us"] = median_us(
                lambda: F.scaled_dot_product_attention(
                    q4, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1)), flush, 20)
            ref = F.scaled_dot_product_attention(q4, k, v, enable_gqa=True)[:, :, 0]
            torch.testing.assert_close(mod.gqa_decode(q, k, v, lens).float(), ref.float(),
                                       atol=2e-3, rtol=2e-2)
            rows.append(row)
            del q, k, v
    return dict(copy_gbps=bandwidth / 1e9, rows=rows)


def table(t):
    print(f"device copy bandwidth {t['copy_gbps']:.0f} GB/s (read + write)")
    print("| batch | ctx | kforge op us | SDPA (picked) us | flash | efficient | cudnn | "
          "repeat_kv+SDPA us | op vs best SDPA | op share of floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in t["rows"]:
        fused = [r[x] for x in ("sdpa_us", "sdpa_flash_us", "sdpa_efficient_us", "sdpa_cudnn_us") if r[x]]
        fmt = lambda x: f"{x:.1f}" if x else "-"
        print(f"| {r['batch']} | {r['ctx']} | {r['kforge_op_us']:.1f} | {fmt(r['sdpa_us'])} | "
              f"{fmt(r['sdpa_flash_us'])} | {fmt(r['sdpa_efficient_us'])} | {fmt(r['sdpa_cudnn_us'])} | "
              f"{r['repeat_kv_sdpa_us']:.1f} | {min(fused) / r['kforge_op_us']:.2f}x | "
              f"{100 * r['floor_us'] / r['kforge_op_us']:.0f}% |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kforge")
    ap.add_argument("repo")
    ap.add_argument("program", nargs="?", default="tasks/cuda/gqa_decode/examples/fast.cu")
    ap.add_argument("--json")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kforge_export_gpu_")
    pkg = pathlib.Path(tmp) / "gqa_decode_op"
    program = pathlib.Path(args.repo) / args.program if not os.path.isabs(args.program) else args.program
    subprocess.run([args.kforge, "export", str(program), "--task", "gqa_decode", "--torch-op",
                    "kforge::gqa_decode", "--out", str(pkg)], check=True)
    sys.path.insert(0, tmp)
    os.environ.setdefault("KFORGE_EXPORT_CACHE", str(pathlib.Path(tmp) / "cache"))
    mod = importlib.import_module("gqa_decode_op")
    check(mod)
    if not args.no_timing:
        t = timing(mod)
        t["device"] = torch.cuda.get_device_name()
        t["program"] = str(args.program)
        table(t)
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(t, indent=1))
    print(f"package: {pkg}")


if __name__ == "__main__":
    main()
