#!/usr/bin/env python3
"""Seconds per CUDA candidate through kforge (warm workers) against torch's load_inline path.

kforge, two candidate forms of the same kernel for bench/tasks/cuda_scale_add, N distinct
candidates each (a nonce makes every source unique, so each is a fresh compile), one
`kforge eval` call per form so the GPU worker is started once:
  - kernel-only (NVRTC; kforge launches the declared kernel),
  - host code (nvcc; the candidate's own launcher).
Latency: each candidate compiled when it is judged (--compile-jobs 0), per-candidate time from
kforge's JSON profile. Throughput: the same number of new candidates in one call with compiles
running ahead on the host's cores (the default), candidates per minute of wall time.
load_inline: the same kernel compiled with torch.utils.cpp_extension.load_inline under a fresh
name (a cold build, as KernelBench does per candidate), then checked and timed with CUDA events.
Run on the GPU host (scripts/gpu_check).

usage: bench/cuda_eval_latency.py KFORGE_BIN [N] [--no-load-inline]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASK = os.path.join(ROOT, "bench", "tasks", "cuda_scale_add")
KERNEL = """
__global__ void scale_add_kernel(const float* x, const float* b, float* y, long long n) {{
  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (i < n) y[i] = 2.0f * x[i] + b[i];  // {nonce}
}}
"""
HOST_CODE_CANDIDATE = """#include <cstdint>
#include <cuda_runtime.h>
""" + KERNEL + """
extern "C" void scale_add(const float* x, const float* b, float* y, int64_t n, cudaStream_t s) {{
  scale_add_kernel<<<(n + 255) / 256, 256, 0, s>>>(x, b, y, n);
}}
"""
KERNEL_ONLY_CANDIDATE = """// kforge-launch: kernel=scale_add_kernel grid=(n+255)/256 block=256
""" + KERNEL


def kforge_run(kforge, template, n, extra):
    nonce = f"{os.getpid()}-{time.time_ns()}"
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(n):
            path = os.path.join(tmp, f"cand{i}.cu")
            with open(path, "w") as f:
                f.write(template.format(nonce=f"{nonce}-{i}"))
            files.append(path)
        start = time.monotonic()
        out = subprocess.run([kforge, "eval", TASK, *files, "--json", "--timing-seconds", "0.3",
                              *extra], check=True, capture_output=True, text=True).stdout
        wall = time.monotonic() - start
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    if os.environ.get("OUT"):  # every result, for a closer look
        with open(os.path.join(os.environ["OUT"], "cuda_eval_latency.jsonl"), "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    return rows, wall


def summarise(name, rows, wall):
    per = [r["profile"]["total_s"] for r in rows]
    comp = [r["profile"]["compile_s"] for r in rows]
    bad = [r for r in rows if r["verdict"] != "ok"]
    stages = {k: statistics.median(r["profile"][k] for r in rows)
              for k in ("compile_s", "candidate_s", "candidate_timing_s", "baseline_s",
                        "reference_s", "harness_s")}
    print(f"{name}: {len(rows)} candidates, wall {wall:.1f} s; per candidate median "
          f"{statistics.median(per):.3f} s (compile {statistics.median(comp):.3f} s); stages "
          + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()) + f"; {len(bad)} not ok")
    if bad:
        print("  first failure:", bad[0]["detail"].get("message"))
    return statistics.median(per), len(bad)


def load_inline_seconds():
    import torch
    from torch.utils.cpp_extension import load_inline
    name = f"kf_scale_add_{os.getpid()}_{time.time_ns()}"
    cuda_src = "#include <torch/extension.h>\n" + KERNEL.format(nonce=name) + """
torch::Tensor scale_add(torch::Tensor x, torch::Tensor b) {
  auto y = torch::empty_like(x);
  long long n = x.numel();
  scale_add_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), b.data_ptr<float>(),
                                               y.data_ptr<float>(), n);
  return y;
}
"""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as build:
        mod = load_inline(name=name, cpp_sources="torch::Tensor scale_add(torch::Tensor x, torch::Tensor b);",
                          cuda_sources=cuda_src, functions=["scale_add"], build_directory=build)
        compiled = time.monotonic()
        x = torch.randn(1 << 20, device="cuda")
        b = torch.randn(1 << 20, device="cuda")
        for _ in range(5):  # KernelBench's correctness trials
            assert torch.allclose(mod.scale_add(x, b), 2 * x + b)
        ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(3):
            mod.scale_add(x, b)
        ev0.record()
        for _ in range(100):
            mod.scale_add(x, b)
        ev1.record()
        torch.cuda.synchronize()
    return time.monotonic() - start, compiled - start


def main():
    kforge = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 10
    # Warm the cache of the task's own programs and the device, as a running search would be.
    subprocess.run([kforge, "eval", TASK, os.path.join(TASK, "initial.cu"), "--json"],
                   check=True, capture_output=True)
    medians, failures = {}, 0
    for name, template in (("kernel-only (NVRTC)", KERNEL_ONLY_CANDIDATE),
                           ("host code (nvcc)", HOST_CODE_CANDIDATE)):
        rows, wall = kforge_run(kforge, template, n, ["--compile-jobs", "0"])
        medians[name], bad = summarise(f"latency, {name}", rows, wall)
        failures += bad
        rows, wall = kforge_run(kforge, template, n, [])
        _, bad = summarise(f"throughput, {name}", rows, wall)
        failures += bad
        print(f"  throughput, {name}: {60 * n / wall:.0f} candidates per minute")
    if "--no-load-inline" not in sys.argv:
        total, compile_s = load_inline_seconds()
        print(f"load_inline: {total:.1f} s per candidate (compile {compile_s:.1f} s)")
        for name, med in medians.items():
            print(f"ratio load_inline / kforge {name} median: {total / med:.0f}x")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
