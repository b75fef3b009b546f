#!/usr/bin/env python3
"""End-to-end test of `kforge bench` (docs/pytorch.md): every KernelBench-format problem under
tests/pytorch/problems with its native CPU candidate under tests/pytorch/candidates, judged
against PyTorch eager and torch.compile on the CPU (build/torch-venv).

usage: test_pytorch_bench.py KFORGE_BIN REPO_ROOT

Checks that every candidate is correct, that bench.md and bench.json hold the per-problem rows,
the fast_p table for p = 0, 1, 1.5, 2 against both baselines and the geometric means, and that a
missing candidate is a failure counted as 1x. Then `kforge bench --from-run`: a short
`kforge optimize` run on one problem (its model is tests/e2e/scripted_model.py, a fake, named as
such) is benched again from another directory by its report.json. Nothing asserts on speed.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile


def main(argv):
    if len(argv) != 3:
        print("usage: test_pytorch_bench.py KFORGE_BIN REPO_ROOT", file=sys.stderr)
        return 2
    kforge, repo = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    tmp = tempfile.mkdtemp(prefix="kforge-bench-")
    problems = os.path.join(repo, "tests/pytorch/problems")
    candidates = os.path.join(tmp, "candidates")
    # Every native candidate, and one problem left without a candidate.
    os.makedirs(candidates)
    names = sorted(f[:-3] for f in os.listdir(problems) if f.endswith(".py"))
    missing = names[-1]
    for name in names[:-1]:
        shutil.copy(os.path.join(repo, "tests/pytorch/candidates", name + ".c"), candidates)
    out = os.path.join(tmp, "out")
    proc = subprocess.run([kforge, "bench", problems, "--candidates", candidates, "--out", out,
                           "--timing-seconds", "0.1"], capture_output=True, text=True,
                          timeout=1500)
    failures = []
    if proc.returncode != 0:
        failures.append(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    try:
        report = json.load(open(os.path.join(out, "bench.json")))
        md = open(os.path.join(out, "bench.md")).read()
    except (OSError, ValueError) as e:
        print(f"FAIL: no bench output: {e}\n{proc.stdout}\n{proc.stderr[-3000:]}")
        return 1
    rows = {r["problem"]: r for r in report["problems"]}
    if sorted(rows) != names:
        failures.append(f"rows {sorted(rows)} != problems {names}")
    for name in names[:-1]:
        r = rows.get(name, {})
        if r.get("verdict") != "ok":
            failures.append(f"{name}: {r.get('verdict')}: {r.get('message')}")
        elif not (r["eager_ms"] > 0 and r["compile_ms"] > 0 and r["speedup_vs_eager"] > 0):
            failures.append(f"{name}: missing times {r}")
    if rows.get(missing, {}).get("verdict") != "no_candidate":
        failures.append(f"{missing}: expected no_candidate, got {rows.get(missing)}")
    for base in ("vs_eager", "vs_compile"):
        fp = report["fast_p"][base]
        if sorted(fp) != ["0", "1", "1.5", "2"]:
            failures.append(f"fast_p {base} keys {sorted(fp)}")
        expected0 = sum(1 for r in rows.values() if r["verdict"] == "ok") / len(rows)
        if base == "vs_eager" and abs(fp["0"] - expected0) > 1e-9:
            failures.append(f"fast_0 {fp['0']} != share correct {expected0}")
    ok = [r["speedup_vs_eager"] for r in rows.values() if r["verdict"] == "ok"]
    geo = math.exp(sum(math.log(s) for s in ok) / len(rows))  # the missing one counts as 1x
    if abs(report["geomean"]["vs_eager_failures_as_1x"] - geo) > 1e-6 * geo:
        failures.append(f"geomean {report['geomean']} != {geo}")
    for phrase in ("| problem | candidate | verdict |", "fast_p", "failures counted as 1x"):
        if phrase not in md:
            failures.append(f"bench.md lacks {phrase!r}")
    print(proc.stdout)
    failures += check_from_run(kforge, repo, tmp)
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else f"{len(failures)} failures")
    return 0 if not failures else 1


def check_from_run(kforge, repo, tmp):
    """An optimize run's best program, benched by `kforge bench --from-run RUN_DIR`."""
    model = os.path.join(tmp, "model")
    os.makedirs(model)
    code = open(os.path.join(repo, "tests/pytorch/candidates/01_relu.c")).read()
    code = code.replace("x[i] > 0.0f", "0.0f < x[i]")  # a new program, not the start again
    with open(os.path.join(model, "01.md"), "w") as f:
        f.write("The same ReLU.\n\n```c\n" + code + "```\n")
    run = os.path.join(tmp, "run")
    opt = subprocess.run(
        [kforge, "optimize", os.path.join(repo, "tests/pytorch/problems/01_relu.py"), "--start",
         os.path.join(repo, "tests/pytorch/candidates/01_relu.c"), "--llm",
         f"command:python3 {repo}/tests/e2e/scripted_model.py {model}", "--budget-evals", "2",
         "--timing-seconds", "0.1", "--out", run], capture_output=True, text=True, timeout=900)
    if opt.returncode != 0:
        return [f"optimize exit {opt.returncode}: {opt.stderr[-2000:]}"]
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    proc = subprocess.run([kforge, "bench", "--from-run", run, "--out", "from_run",
                           "--timing-seconds", "0.1"], capture_output=True, text=True,
                          timeout=900, cwd=elsewhere)
    if proc.returncode != 0:
        return [f"bench --from-run exit {proc.returncode}: {proc.stderr[-2000:]}"]
    rows = json.load(open(os.path.join(elsewhere, "from_run", "bench.json")))["problems"]
    if len(rows) != 1 or rows[0]["problem"] != "01_relu" or rows[0]["candidate"] != "best.c":
        return [f"--from-run rows: {rows}"]
    if rows[0]["verdict"] != "ok":
        return [f"--from-run: {rows[0]['verdict']}: {rows[0]['message']}"]
    print("bench --from-run: 01_relu best.c ok,", f"{rows[0]['speedup_vs_eager']:.2f}x vs eager")
    return []


if __name__ == "__main__":
    sys.exit(main(sys.argv))
