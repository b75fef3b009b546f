#!/usr/bin/env python3
"""Each built-in CPU task's examples/fast.c against its naive initial program, through the real
`kforge eval` (baseline timed in the same worker, alternating rounds, same run).

usage: bench/builtin_speedups.py [KFORGE_BIN]
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KFORGE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "kforge")


def main():
    tasks_dir = os.path.join(ROOT, "tasks", "cpu")
    print("| task | verdict | fast median ms (p10-p90) | initial median ms | speedup | roofline |")
    print("|---|---|---|---|---|---|")
    failed = 0
    for name in sorted(os.listdir(tasks_dir)):
        fast = os.path.join(tasks_dir, name, "examples", "fast.c")
        if not os.path.exists(fast):
            continue
        out = subprocess.run([KFORGE, "eval", os.path.join(tasks_dir, name), fast, "--json"],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.splitlines()[0])
        t, b = r["time_ms"], r["baseline"]
        failed += r["verdict"] != "ok"
        print(f"| {name} | {r['verdict']} | {t['median']:.3f} ({t['p10']:.3f}-{t['p90']:.3f}) | "
              f"{b['median']:.3f} | {r['speedup']:.1f}x | "
              f"{100 * r['roofline']['fraction']:.0f}% |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
