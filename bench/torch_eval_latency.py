#!/usr/bin/env python3
"""End-to-end time per native candidate on a PyTorch task: kforge against KernelBench's own path.

usage: torch_eval_latency.py KFORGE_BIN [--candidates N] [--kernelbench M] [--json PATH]

Both sides judge the same ReLU kernel on tests/pytorch/problems/01_relu.py, each candidate a
distinct source (a counter in a comment) so that no compile cache helps either side:

- kforge: one `kforge eval PROBLEM c1.cu ... cN.cu --json --compile-jobs 0` (workers stay warm
  across candidates; no compiling ahead) per form of native candidate: the host form (a
  torch-free .cu compiled by nvcc) and the kernel-only form (compiled by NVRTC); correctness against the module on fresh inputs,
  timing of the candidate, PyTorch eager and torch.compile by the same protocol. The figure is
  the median of the candidates' own evaluation times after the first (warm workers), and the
  wall time of the whole call divided by N (everything included: probe, workers, torch.compile).
- KernelBench's path, as its harness does it: a fresh Python process per candidate that builds
  `ModelNew` with `torch.utils.cpp_extension.load_inline` (the same kernel with a torch wrapper),
  seeds and builds Model and ModelNew, checks 5 trials of get_inputs() drawn on the CPU and moved
  to the GPU, then times 100 runs with CUDA events. Its figure is that process's wall time.

Prints both, and the ratio (target: kforge at least 30x faster per candidate). Needs a GPU, torch
with CUDA, nvcc and ninja (the GPU machine has them: ../shared/FACTS.md).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PROBLEM = os.path.join(REPO, "tests/pytorch/problems/01_relu.py")

KERNEL = r"""
__global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long stride = (long long)gridDim.x * blockDim.x;
  for (; i < n; i += stride) { float v = x[i]; y[i] = v > 0.f ? v : 0.f; }
}
"""

NATIVE = """// candidate {i}
#include <cstdint>
#include <cuda_runtime.h>
{kernel}
extern "C" void forward(const float* x, float* out, int64_t batch_size, int64_t dim,
                        cudaStream_t stream) {{
  const long long n = batch_size * dim;
  const int threads = 256;
  int blocks = (int)((n + threads - 1) / threads);
  if (blocks > 65535) blocks = 65535;
  relu_kernel<<<blocks, threads, 0, stream>>>(x, out, n);
}}
"""

# The same kernel in kforge's kernel-only form: NVRTC compiles it, kforge launches it.
KERNEL_ONLY = """// candidate {i}
// kforge-launch: kernel=relu_kernel grid=(batch_size*dim+255)/256 block=256
#include <cstdint>
__global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y,
                            int64_t batch_size, int64_t dim) {{
  long long n = batch_size * dim;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long stride = (long long)gridDim.x * blockDim.x;
  for (; i < n; i += stride) {{ float v = x[i]; y[i] = v > 0.f ? v : 0.f; }}
}}
"""

KERNELBENCH = r'''
import os, sys, time
t0 = time.perf_counter()
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline
import importlib.util
spec = importlib.util.spec_from_file_location("problem", sys.argv[1])
problem = importlib.util.module_from_spec(spec); spec.loader.exec_module(problem)
cuda_src = """
#include <torch/extension.h>
KERNEL
torch::Tensor relu_forward(torch::Tensor x) {
  auto y = torch::empty_like(x);
  long long n = x.numel();
  int threads = 256; int blocks = (int)((n + threads - 1) / threads); if (blocks > 65535) blocks = 65535;
  relu_kernel<<<blocks, threads>>>(x.data_ptr<float>(), y.data_ptr<float>(), n);
  return y;
}
// candidate COUNTER
"""
cpp_src = "torch::Tensor relu_forward(torch::Tensor x);"
ext = load_inline(name="relu_COUNTER", cpp_sources=cpp_src, cuda_sources=cuda_src,
                  functions=["relu_forward"], verbose=False)
class ModelNew(nn.Module):
    def __init__(self, *a):
        super().__init__()
    def forward(self, x):
        return ext.relu_forward(x)
t_compiled = time.perf_counter()
init = problem.get_init_inputs()
torch.manual_seed(42); model = problem.Model(*init).cuda()
torch.manual_seed(42); model_new = ModelNew(*init).cuda()
for trial in range(5):
    torch.manual_seed(trial)
    inputs = [x.cuda() for x in problem.get_inputs()]
    with torch.no_grad():
        ok = torch.allclose(model(*inputs), model_new(*inputs), atol=1e-2, rtol=1e-2)
    assert ok
inputs = [x.cuda() for x in problem.get_inputs()]
times = []
with torch.no_grad():
    for _ in range(3):
        model_new(*inputs)
    torch.cuda.synchronize()
    for _ in range(100):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); model_new(*inputs); e.record(); torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
print("compile_s", t_compiled - t0, "total_s", time.perf_counter() - t0,
      "median_ms", sorted(times)[50])
'''


def run_kforge(kforge, n, tmp, form):
    cands = []
    for i in range(n):
        path = os.path.join(tmp, f"relu_{form}_{i}.cu")
        with open(path, "w") as f:
            if form == "host":
                f.write(NATIVE.format(i=f"{i} {time.time_ns()}", kernel=KERNEL))
            else:
                f.write(KERNEL_ONLY.format(i=f"{i} {time.time_ns()}"))
        cands.append(path)
    t0 = time.perf_counter()
    proc = subprocess.run([kforge, "eval", PROBLEM, *cands, "--json", "--compile-jobs", "0"],
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    results = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or len(results) != n:
        sys.exit(f"kforge eval failed ({proc.returncode}): {proc.stderr[-2000:]}")
    verdicts = [r["verdict"] for r in results]
    evals = [r["eval_seconds"] for r in results]
    return {"form": form, "candidates": n, "verdicts": verdicts, "wall_s": wall, "eval_s": evals,
            "warm_median_s": statistics.median(evals[1:] if n > 1 else evals),
            "per_candidate_wall_s": wall / n,
            "candidate_ms": [r.get("time_ms", {}).get("median") for r in results],
            "eager_ms": [r.get("baseline_time_ms") for r in results],
            "profile_last": results[-1].get("profile")}


def run_kernelbench(m, tmp):
    out = []
    for i in range(m):
        script = os.path.join(tmp, f"kb_{i}.py")
        with open(script, "w") as f:
            f.write(KERNELBENCH.replace("KERNEL", KERNEL).replace(
                "COUNTER", f"{i}_{time.time_ns()}"))
        env = dict(os.environ, TORCH_EXTENSIONS_DIR=os.path.join(tmp, f"ext_{i}"))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, script, PROBLEM], capture_output=True, text=True,
                              timeout=900, env=env)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"KernelBench path failed: {proc.stderr[-2000:]}")
        fields = proc.stdout.split()
        out.append({"wall_s": wall, "compile_s": float(fields[1]),
                    "median_ms": float(fields[5])})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kforge")
    ap.add_argument("--candidates", type=int, default=6)
    ap.add_argument("--kernelbench", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kforge-torch-latency-")
    forms = {}
    for form in ("host", "kernel"):
        kf = run_kforge(os.path.abspath(args.kforge), args.candidates, tmp, form)
        forms[form] = kf
        print(f"kforge, {form} form: {kf['candidates']} candidates in {kf['wall_s']:.1f} s "
              f"({kf['per_candidate_wall_s']:.2f} s each, all included); warm evaluation "
              f"median {kf['warm_median_s']:.2f} s; verdicts {sorted(set(kf['verdicts']))}")
    kb = run_kernelbench(args.kernelbench, tmp)
    if not kb:
        return
    kb_s = statistics.median(r["wall_s"] for r in kb)
    print(f"KernelBench path (load_inline, 5 checks, 100 timed runs): {kb_s:.1f} s per "
          f"candidate (compile {statistics.median(r['compile_s'] for r in kb):.1f} s)")
    ratios = {}
    for form, kf in forms.items():
        ratios[form] = {"warm": kb_s / kf["warm_median_s"],
                        "all": kb_s / kf["per_candidate_wall_s"]}
        print(f"ratio, {form} form: {ratios[form]['warm']:.1f}x faster with warm workers, "
              f"{ratios[form]['all']:.1f}x counting everything (target 30x with warm workers): "
              f"{'PASS' if ratios[form]['warm'] >= 30 else 'FAIL'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"kforge": forms, "kernelbench": kb, "ratios": ratios}, f, indent=2)


if __name__ == "__main__":
    main()
