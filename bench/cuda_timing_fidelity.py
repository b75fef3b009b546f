#!/usr/bin/env python3
"""Timing fidelity of kforge's CUDA timing, for kernels of 50 us or more.

Spread: each program is judged N times in one `kforge eval` call (same warm worker, a fresh
secret seed and fresh inputs each time); the coefficient of variation of the N medians.
Agreement: one more evaluation with --ncu, where Nsight Compute (`--clock-control none`,
caches flushed) reports `gpu__time_duration` for one call of the same program at the same sizes;
its ratio to the mean of kforge's N medians. Run on the GPU host (scripts/gpu_check).

usage: bench/cuda_timing_fidelity.py KFORGE_BIN [N]
"""
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = [  # (task, program): fast kernels of about 100 us and a naive one of about 1.5 ms
    ("softmax_rows", "examples/kernel_only.cu"),
    ("sum_rows", "examples/fast.cu"),
    ("rms_norm", "initial.cu"),
]


def evaluate(task_dir, program, times, extra=()):
    out = subprocess.run([KFORGE, "eval", task_dir, *([program] * times), "--json", *extra],
                         check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


KFORGE = ""


def main():
    global KFORGE
    KFORGE = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(f"| program | kforge mean of {n} medians (us) | CV of the medians | ncu gpu__time_duration "
          "(us) | ncu / kforge |")
    print("|---|---|---|---|---|")
    worst_cv, worst_gap = 0.0, 0.0
    for task, program in PROGRAMS:
        task_dir = os.path.join(ROOT, "tasks", "cuda", task)
        path = os.path.join(task_dir, program)
        rows = evaluate(task_dir, path, n)
        bad = [r for r in rows if r["verdict"] != "ok"]
        if bad:
            print(f"| {task}/{program} | {bad[0]['verdict']}: {bad[0]['detail'].get('message')} |")
            return 1
        medians = [r["time_ms"]["median"] * 1e3 for r in rows]
        mean = statistics.mean(medians)
        cv = statistics.stdev(medians) / mean
        (prof,) = evaluate(task_dir, path, 1, ["--ncu"])
        ncu = prof["detail"].get("ncu", {})
        if os.environ.get("OUT"):
            with open(os.path.join(os.environ["OUT"], "cuda_timing_fidelity.jsonl"), "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows + [prof])
        if "gpu_time_us" not in ncu:
            print(f"| {task}/{program} | {mean:.2f} | {100 * cv:.2f}% | ncu: "
                  f"{ncu.get('error', 'no summary')[:300]} | |")
            continue
        ratio = ncu["gpu_time_us"] / mean
        worst_cv, worst_gap = max(worst_cv, cv), max(worst_gap, abs(ratio - 1))
        print(f"| {task}/{program} | {mean:.2f} | {100 * cv:.2f}% | {ncu['gpu_time_us']:.2f} | "
              f"{ratio:.3f} |")
    print(f"worst CV {100 * worst_cv:.2f}% (target < 1%), worst disagreement with ncu "
          f"{100 * worst_gap:.2f}% (target < 3%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
