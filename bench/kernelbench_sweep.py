#!/usr/bin/env python3
"""KernelBench at its real sizes through kforge: every problem imported and judged with an
identity candidate, with seconds, memory and the identity's speedup.

For each level directory given (default: ../shared/kernelbench/level1..3):
  1. `kforge import LEVEL --out OUT/tasks/LEVEL` (timed; skipped problems keep their reason);
  2. for each imported problem, the identity candidate: the problem's own code plus
     `class ModelNew(Model): pass`, judged by `kforge eval TASK CANDIDATE --json` in a process
     of its own, while the proportional set size (PSS) of kforge and all its workers is
     sampled every 0.2 s (PSS counts shared memory once, so the sum is what the machine holds).
Per level it prints: problems imported, judged ok, refused (kforge said before judging that the
problem does not fit: its reason), other verdicts and errors, median and p90 seconds per
problem, peak memory against the problem's bytes (inputs and outputs of one call), and the
identity's speedup over eager at p5, p50 and p95 (an identical program: 1.00x is the truth).
Rows go to OUT/sweep.jsonl as they finish, so a partial run keeps what it measured.

`--load-inline` adds, in the same run, KernelBench's own way of judging a candidate for
19_ReLU: a ModelNew with a CUDA kernel built by torch's load_inline (a fresh build), checked
on 5 inputs and timed over 100 trials with CUDA events, end to end in seconds, beside kforge's
seconds for the same problem.

usage: bench/kernelbench_sweep.py KFORGE_BIN [--levels DIR...] [--out DIR] [--limit N]
           [--start N] [--only SUBSTRING,...] [--timing-seconds S] [--no-compile] [--load-inline]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "kernelbench")

IDENTITY_TAIL = "\n\nclass ModelNew(Model):\n    pass\n"


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def label(pid):
    """kforge, the reference bridge, a candidate bridge, or the program's name."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    if any(a.endswith("kforge_torch_bridge.py") for a in argv):
        return "bridge " + (argv[argv.index("--role") + 1] if "--role" in argv else "probe")
    return os.path.basename(argv[0]) if argv and argv[0] else "?"


def pss_by_label(pids):
    """Proportional set size (bytes) of each process, summed by label."""
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        name = label(p)
                        out[name] = out.get(name, 0) + int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return out


def run_measured(argv, timeout):
    """Runs argv; returns (returncode, stdout, stderr, seconds, peak PSS of its process tree,
    that peak by process)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, {}]
    done = threading.Event()

    def sample():
        while not done.is_set():
            parts = pss_by_label(descendants(proc.pid))
            if sum(parts.values()) > peak[0]:
                peak[0], peak[1] = sum(parts.values()), parts
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[sweep: killed after {timeout} s]"
    done.set()
    sampler.join()
    return proc.returncode, out, err, time.monotonic() - start, peak[0], peak[1]


def import_level(kforge, level_dir, out):
    start = time.monotonic()
    proc = subprocess.run([kforge, "import", level_dir, "--out", out], capture_output=True,
                          text=True)
    seconds = time.monotonic() - start
    imported, skipped = [], {}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("imported "):
            src, dst = line[len("imported "):].split(" -> ")
            imported.append((src.strip(), dst.strip()))
        elif line.startswith("skipped "):
            name, _, reason = line[len("skipped "):].strip().partition(": ")
            skipped[name] = reason
    return imported, skipped, seconds


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q * (len(v) - 1))))]


def load_inline_relu_seconds(problem):
    """KernelBench's path for one candidate of 19_ReLU: load_inline build, 5 correctness
    trials, 100 timed trials with CUDA events; seconds end to end, in a fresh process."""
    script = f"""
import importlib.util, time, uuid, torch
t0 = time.monotonic()
spec = importlib.util.spec_from_file_location("p", {problem!r})
p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
from torch.utils.cpp_extension import load_inline
src = '''
#include <torch/extension.h>
__global__ void relu_k(const float* x, float* y, long long n) {{
  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}}
torch::Tensor relu(torch::Tensor x) {{
  auto y = torch::empty_like(x);
  long long n = x.numel();
  relu_k<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), n);
  return y;
}}
'''
m = load_inline(name="relu_" + uuid.uuid4().hex[:8], cpp_sources="torch::Tensor relu(torch::Tensor x);",
                cuda_sources=src, functions=["relu"], verbose=False)
compiled = time.monotonic() - t0
model = p.Model(*p.get_init_inputs()).cuda()
for trial in range(5):
    xs = [x.cuda() for x in p.get_inputs()]
    assert torch.allclose(model(*xs), m.relu(*xs), atol=1e-2, rtol=1e-2)
xs = [x.cuda() for x in p.get_inputs()]
times = []
for _ in range(100):
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record(); m.relu(*xs); b.record(); torch.cuda.synchronize(); times.append(a.elapsed_time(b))
print("LOADINLINE", compiled, time.monotonic() - t0, sorted(times)[50])
"""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
    rc, out, err, seconds, peak, _ = run_measured([sys.executable, f.name], 1800)
    for line in out.splitlines():
        if line.startswith("LOADINLINE"):
            _, compile_s, total_s, median_ms = line.split()
            return {"compile_s": float(compile_s), "total_s": float(total_s),
                    "median_ms": float(median_ms), "wall_s": seconds, "peak_bytes": peak}
    return {"error": (err or out)[-800:]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kforge")
    ap.add_argument("--levels", nargs="*", default=[os.path.join(SHARED, f"level{i}")
                                                    for i in (1, 2, 3)])
    ap.add_argument("--out", default="kernelbench-sweep")
    ap.add_argument("--limit", type=int, default=0, help="judge at most N problems per level")
    ap.add_argument("--start", type=int, default=0, help="skip the first N problems per level")
    ap.add_argument("--only", default="",
                    help="judge problems whose file name contains one of these (comma-separated)")
    ap.add_argument("--timing-seconds", default="1")
    ap.add_argument("--no-compile", action="store_true",
                    help="time against eager only (skips torch.compile's compile per problem)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per problem")
    ap.add_argument("--load-inline", action="store_true")
    args = ap.parse_args()
    kforge = os.path.abspath(args.kforge)
    os.makedirs(args.out, exist_ok=True)
    rows_path = os.path.join(args.out, "sweep.jsonl")
    cand_dir = os.path.join(args.out, "candidates")
    os.makedirs(cand_dir, exist_ok=True)
    summary = []
    with open(rows_path, "a") as rows_file:
        for level_dir in args.levels:
            level = os.path.basename(os.path.normpath(level_dir))
            tasks_dir = os.path.join(args.out, "tasks", level)
            wanted = [w for w in args.only.split(",") if w]
            if wanted:
                # Only the problems named: imported from a folder of links to them.
                picked = os.path.join(args.out, "picked", level)
                os.makedirs(picked, exist_ok=True)
                for name in sorted(os.listdir(level_dir)):
                    if name.endswith(".py") and any(w in name for w in wanted):
                        link = os.path.join(picked, name)
                        if not os.path.exists(link):
                            os.symlink(os.path.abspath(os.path.join(level_dir, name)), link)
                level_dir = picked
            imported, skipped, import_s = import_level(kforge, level_dir, tasks_dir)
            print(f"{level}: imported {len(imported)} of {len(imported) + len(skipped)} in "
                  f"{import_s:.1f} s", flush=True)
            for name, reason in skipped.items():
                print(f"  not imported {name}: {reason[-160:]}", flush=True)
            rows = []
            todo = imported[args.start:]
            if args.limit:
                todo = todo[:args.limit]
            for src, task_dir in todo:
                if args.no_compile:
                    yaml_path = os.path.join(task_dir, "task.yaml")
                    text = open(yaml_path).read().replace("baselines: [compile]", "baselines: []")
                    open(yaml_path, "w").write(text)
                problem = os.path.join(task_dir, "problem.py")
                cand = os.path.join(cand_dir, f"{level}_{os.path.splitext(src)[0]}_identity.py")
                with open(cand, "w") as f:
                    f.write(open(problem).read() + IDENTITY_TAIL)
                rc, out, err, seconds, peak, parts = run_measured(
                    [kforge, "eval", task_dir, cand, "--json", "--timing-seconds",
                     args.timing_seconds], args.timeout)
                row = {"level": level, "problem": src, "seconds": round(seconds, 2),
                       "peak_bytes": peak, "peak_by_process": parts, "exit": rc}
                result = None
                for line in out.splitlines():
                    if line.startswith("{"):
                        try:
                            result = json.loads(line)
                        except json.JSONDecodeError:
                            pass
                if result:
                    row["verdict"] = result["verdict"]
                    row["speedup"] = result.get("speedup")
                    row["speedup_ci"] = result.get("speedup_ci")
                    row["memory"] = result.get("detail", {}).get("memory")
                    row["message"] = result.get("detail", {}).get("message", "")[:300]
                    row["profile"] = result.get("profile")
                    row["time_ms"] = result.get("time", {}).get("median")
                else:
                    tail = (err.strip().splitlines() or ["(no output)"])[-1]
                    row["verdict"] = "refused" if "not judged" in err else "error"
                    row["message"] = tail[:400]
                rows.append(row)
                rows_file.write(json.dumps(row) + "\n")
                rows_file.flush()
                problem_gb = (row.get("memory") or {}).get("problem_bytes", 0) / 1e9
                print(f"  {src:50s} {row['verdict']:14s} {seconds:6.1f} s  peak "
                      f"{peak / 1e9:6.1f} GB  problem {problem_gb:5.1f} GB  speedup "
                      f"{row.get('speedup') or 0:.3f}  {row['message'][:90] if row['verdict'] != 'ok' else ''}",
                      flush=True)
            ok = [r for r in rows if r["verdict"] == "ok"]
            speedups = [r["speedup"] for r in ok if r.get("speedup")]
            secs = [r["seconds"] for r in ok]
            over = [r for r in ok if r.get("memory") and
                    r["peak_bytes"] > 2 * r["memory"]["problem_bytes"] + 2e9]
            verdicts = {}
            for r in rows:
                verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
            s = {"level": level, "imported": len(imported), "not_imported": len(skipped),
                 "import_s": round(import_s, 1), "judged": len(rows), "verdicts": verdicts,
                 "median_s": percentile(secs, 0.5), "p90_s": percentile(secs, 0.9),
                 "speedup_p5": percentile(speedups, 0.05), "speedup_p50":
                 percentile(speedups, 0.5), "speedup_p95": percentile(speedups, 0.95),
                 "peak_over_2x_plus_2gb": len(over),
                 "max_peak_gb": max([r["peak_bytes"] for r in rows] or [0]) / 1e9}
            summary.append(s)
            print(json.dumps(s), flush=True)
    if args.load_inline:
        relu = next((os.path.join(d, "19_ReLU.py") for d in args.levels
                     if os.path.exists(os.path.join(d, "19_ReLU.py"))),
                    os.path.join(SHARED, "level1", "19_ReLU.py"))
        li = load_inline_relu_seconds(relu)
        print("load_inline (KernelBench's path) for 19_ReLU:", json.dumps(li), flush=True)
        summary.append({"load_inline_19_relu": li})
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
