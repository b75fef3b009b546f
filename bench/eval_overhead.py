#!/usr/bin/env python3
"""What kforge adds per candidate on the CPU backend, against the work itself.

Evaluates N distinct small candidates (each one a fresh compile: a nonce makes its source unique)
in one `kforge eval` call, so workers are started once and reused, and prints where each
evaluation's time went from the `profile` in kforge's JSON. Targets (issue: evaluator core):
a small kernel end to end under 2 s, kforge's own overhead (harness + worker start, excluding
the compiler) under 100 ms.

usage: bench/eval_overhead.py [KFORGE_BIN] [N]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KFORGE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "kforge")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10
TASK = os.path.join(ROOT, "bench", "tasks", "scale_add")

CANDIDATE = """// candidate {nonce}
#include <stdint.h>
void scale_add(const float* restrict x, const float* restrict b, float* restrict y, int64_t n) {{
  for (int64_t i = 0; i < n; ++i) y[i] = 2.0f * x[i] + b[i];
}}
"""


def main():
    nonce = f"{os.getpid()}-{time.time_ns()}"
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(N):
            path = os.path.join(tmp, f"cand{i}.c")
            with open(path, "w") as f:
                f.write(CANDIDATE.format(nonce=f"{nonce}-{i}"))
            files.append(path)
        # Warm the compile cache for the task's own programs and the machine's ceilings.
        subprocess.run([KFORGE, "eval", TASK, os.path.join(TASK, "initial.c"), "--json"],
                       check=True, capture_output=True)
        start = time.monotonic()
        out = subprocess.run([KFORGE, "eval", TASK, *files, "--json"], check=True,
                             capture_output=True, text=True).stdout
        wall = time.monotonic() - start
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    cols = ["total_s", "compile_s", "worker_start_s", "candidate_s", "baseline_s", "reference_s",
            "harness_s"]
    print(f"kforge eval of {N} distinct small candidates (task scale_add, n=65536) in one call; "
          f"wall {wall:.2f} s")
    print("| # | verdict | " + " | ".join(c[:-2] + " ms" for c in cols) + " |")
    print("|---" * (len(cols) + 2) + "|")
    for i, r in enumerate(rows):
        p = r["profile"]
        print(f"| {i} | {r['verdict']} | " + " | ".join(f"{1e3 * p[c]:.1f}" for c in cols) + " |")
    med = {c: statistics.median(r["profile"][c] for r in rows) for c in cols}
    print("| median | | " + " | ".join(f"{1e3 * med[c]:.1f}" for c in cols) + " |")
    overhead = med["harness_s"] + med["worker_start_s"]
    work = med["candidate_s"] + med["baseline_s"] + med["reference_s"]
    print()
    print(f"median end to end per candidate: {med['total_s']:.3f} s (target < 2 s)")
    print(f"median compile: {med['compile_s']:.3f} s; work (candidate + baseline + reference "
          f"calls and timing): {work:.3f} s")
    print(f"median kforge overhead (harness + worker start, no compiler): {1e3 * overhead:.1f} ms "
          f"(target < 100 ms); ratio overhead / work = {overhead / work:.3f}")
    bad = [r for r in rows if r["verdict"] != "ok"]
    if bad:
        print(f"{len(bad)} candidates were not ok: {bad[0]['detail']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
