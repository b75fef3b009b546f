#!/usr/bin/env python3
"""End-to-end tests of the kforge command line: run the real binary on the built-in tasks and on
broken inputs, and check exit codes, messages and the JSON contract of SPEC.md.

usage: test_cli.py KFORGE_BIN REPO_ROOT

Timing is kept short (--timing-seconds 0.2) and nothing asserts on how fast anything is: the
machine is shared, and speed goals live in bench/.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

KFORGE = ""
REPO = ""

BUILTIN_TASKS = ["layer_norm", "matmul", "softmax_rows", "stencil2d"]
SANDBOXES = {"bwrap+seccomp", "seccomp", "none"}
FAST_EVAL = ["--timing-seconds", "0.2"]
# The initial program's timing deadline does not grow with its warm-up calls (see the report on
# matmul), so on a busy machine a slow baseline can miss the default 10 s; the contract checked
# here is the output, not that deadline.
GENEROUS_DEADLINE = ["--run-timeout", "60"]

SYNTAX_ERROR_C = """#include <stdint.h>
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) { this is not C }
"""

# A task whose output is so small that all zeros pass its tolerance: the evaluator must refuse it
# rather than accept any candidate.
TINY_TASK_YAML = """name: scale_tiny
description: y = 1e-12 * x, an output too small for its absolute tolerance.
backend: cpu
entry: scale_tiny
params: [n]
sizes:
  bench: {n: 4096}
  check:
    - {n: 5}
inputs:
  - {name: x, dtype: f32, shape: [n]}
outputs:
  - {name: y, dtype: f32, shape: [n]}
distributions: [normal]
tolerance: {atol: 1e-6, rtol: 1e-5, rel_norm: 1}
cost:
  flops: "n"
  bytes: "8 * n"
reference: reference.c
initial: initial.c
"""
TINY_REFERENCE_C = """#include <stdint.h>
void scale_tiny(const double* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = 1e-12 * x[i];
}
"""
TINY_INITIAL_C = """#include <stdint.h>
void scale_tiny(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = 1e-12f * x[i];
}
"""


def kforge(*args, timeout=300):
    return subprocess.run([KFORGE, *args], capture_output=True, text=True, timeout=timeout)


def task_dir(name):
    return os.path.join(REPO, "tasks", "cpu", name)


def json_lines(proc):
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def describe(proc):
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kforge_e2e_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def eval_json(self, task, *candidates, extra=()):
        proc = kforge("eval", task, *candidates, "--json", *FAST_EVAL, *extra)
        self.assertEqual(proc.returncode, 0, describe(proc))
        results = json_lines(proc)
        self.assertEqual(len(results), len(candidates), describe(proc))
        return results

    def assert_stats(self, stats, what):
        for key in ("median", "p10", "p90", "runs", "ci95_rel"):
            self.assertIn(key, stats, what)
        self.assertGreater(stats["median"], 0, what)
        self.assertGreaterEqual(stats["runs"], 3, what)
        self.assertLessEqual(stats["p10"], stats["median"], what)
        self.assertLessEqual(stats["median"], stats["p90"], what)
        self.assertGreaterEqual(stats["ci95_rel"], 0, what)

    def assert_ok_result(self, r, task, candidate, seed):
        what = json.dumps(r)[:3000]
        for key in ("verdict", "correct", "task", "candidate", "seed", "sandbox", "time_ms",
                    "baseline_time_ms", "baseline", "speedup", "roofline", "detail"):
            self.assertIn(key, r, what)
        self.assertEqual(r["verdict"], "ok", what)
        self.assertIs(r["correct"], True, what)
        self.assertEqual(r["task"], task, what)
        self.assertEqual(r["candidate"], candidate, what)
        self.assertEqual(r["seed"], seed, what)
        self.assertIn(r["sandbox"], SANDBOXES, what)
        self.assert_stats(r["time_ms"], what)
        self.assert_stats(r["baseline"], what)
        self.assertEqual(r["baseline_time_ms"], r["baseline"]["median"], what)
        self.assertGreater(r["speedup"], 0, what)
        self.assertTrue(math.isfinite(r["speedup"]), what)
        roof = r["roofline"]
        for key in ("achieved_gbps", "achieved_gflops", "fraction", "floor_ms", "peak_gbps",
                    "peak_gflops"):
            self.assertIn(key, roof, what)
            self.assertTrue(math.isfinite(roof[key]), what)
        self.assertGreater(roof["fraction"], 0, what)
        self.assertGreater(roof["peak_gbps"], 0, what)
        self.assertGreater(roof["peak_gflops"], 0, what)
        self.assertGreater(roof["floor_ms"], 0, what)
        self.assertIsInstance(r["detail"].get("message"), str, what)


class TasksCommandTest(CliTestCase):
    def test_lists_builtin_tasks(self):
        proc = kforge("tasks")
        self.assertEqual(proc.returncode, 0, describe(proc))
        rows = [line.split() for line in proc.stdout.splitlines()]
        listed = {(row[0], row[1]) for row in rows if len(row) >= 2}
        for name in BUILTIN_TASKS:
            self.assertIn((name, "cpu"), listed, describe(proc))
        self.assertNotIn("INVALID", proc.stdout)

    def test_nonexistent_directory_exits_2(self):
        proc = kforge("tasks", "/nonexistent")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("/nonexistent", proc.stderr)


class EvalBuiltinTest(CliTestCase):
    def test_examples_and_initial_programs_are_ok(self):
        # Both candidates of a task in one call: also the JSON Lines contract, one line each.
        for task in BUILTIN_TASKS:
            with self.subTest(task=task):
                fast = os.path.join(task_dir(task), "examples", "fast.c")
                initial = os.path.join(task_dir(task), "initial.c")
                results = self.eval_json(task, fast, initial,
                                         extra=["--seed", "42", *GENEROUS_DEADLINE])
                self.assert_ok_result(results[0], task, fast, 42)
                self.assert_ok_result(results[1], task, initial, 42)

    def test_human_output(self):
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        proc = kforge("eval", "softmax_rows", fast, *FAST_EVAL)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(": ok", proc.stdout, describe(proc))
        self.assertIn("speedup", proc.stdout)
        self.assertRegex(proc.stdout, r"speedup\s+[0-9.]+x")
        with self.assertRaises(json.JSONDecodeError):
            json.loads(proc.stdout.splitlines()[0])

    def test_no_sandbox_reports_seccomp(self):
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        (r,) = self.eval_json("softmax_rows", fast, extra=["--no-sandbox"])
        self.assertEqual(r["verdict"], "ok", json.dumps(r)[:3000])
        self.assertEqual(r["sandbox"], "seccomp")

    def test_two_candidates_give_two_lines_in_order(self):
        bad = self.write("bad.c", SYNTAX_ERROR_C)
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        first, second = self.eval_json("softmax_rows", bad, fast)
        self.assertEqual(first["candidate"], bad)
        self.assertEqual(first["verdict"], "compile_error")
        self.assertEqual(second["candidate"], fast)
        self.assertEqual(second["verdict"], "ok")


class FairnessTest(CliTestCase):
    def test_identical_program_reads_one_and_is_not_significant(self):
        # The task's own initial program as the candidate: timed by the same path as the
        # baseline (same worker executable, same clock, same sets), it must read 1.00x within
        # noise, and kforge must not claim a difference.
        initial = os.path.join(task_dir("softmax_rows"), "initial.c")
        (r,) = self.eval_json("softmax_rows", initial, extra=["--timing-seconds", "1"])
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "ok", what)
        lo, hi = r["speedup_ci"]
        self.assertLessEqual(lo, r["speedup"], what)
        self.assertGreaterEqual(hi, r["speedup"], what)
        self.assertEqual(r["detail"]["timing"]["clock"], "orchestrator", what)
        # On a quiet machine it reads 1.00x; on a loaded one (tests run side by side) the ratio
        # may wander, but kforge must not claim it as a speedup.
        self.assertFalse(r["speedup_significant"] and r["speedup"] > 1, what)
        self.assertIs(r["speedup_significant"], lo > 1.01 or hi < 1 / 1.01, what)

    def test_clearly_faster_program_is_significant(self):
        fast = os.path.join(task_dir("matmul"), "examples", "fast.c")
        (r,) = self.eval_json("matmul", fast, extra=GENEROUS_DEADLINE)
        self.assertEqual(r["verdict"], "ok", json.dumps(r)[:3000])
        self.assertGreater(r["speedup_ci"][0], 1.01, json.dumps(r)[:3000])
        self.assertIs(r["speedup_significant"], True)

    def test_failing_baseline_is_reported_and_the_candidate_still_judged(self):
        # A task whose extra baseline is wrong: the result says so in baselines[], the
        # candidate is judged against the initial program, and kforge exits 0.
        dst = os.path.join(self.tmp, "softmax_rows")
        shutil.copytree(task_dir("softmax_rows"), dst)
        self.write("softmax_rows/zeros.c", "#include <stdint.h>\n"
                   "void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {\n"
                   "  for (int64_t i = 0; i < rows * cols; ++i) y[i] = 0.0f;\n}\n")
        with open(os.path.join(dst, "task.yaml"), "a") as f:
            f.write("baselines:\n  - {name: broken, program: zeros.c}\n")
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        (r,) = self.eval_json(dst, fast)
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "ok", what)
        (b,) = r["baselines"]
        self.assertEqual(b["name"], "broken", what)
        self.assertEqual(b["verdict"], "wrong_answer", what)
        self.assertIn("wrong", b["message"], what)
        self.assertGreater(r["speedup"], 1, what)


class EvalCandidateErrorsTest(CliTestCase):
    def test_compile_error_is_a_verdict(self):
        bad = self.write("bad.c", SYNTAX_ERROR_C)
        (r,) = self.eval_json("softmax_rows", bad, extra=["--seed", "42"])
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "compile_error", what)
        self.assertIs(r["correct"], False, what)
        self.assertEqual(r["seed"], 42, what)
        self.assertIn("error", r["detail"]["compiler_log"], what)
        self.assertTrue(r["detail"].get("message"), what)


class EvalArgumentErrorsTest(CliTestCase):
    def test_unknown_option_exits_2(self):
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        proc = kforge("eval", "softmax_rows", fast, "--frobnicate")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("--frobnicate", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_missing_candidate_exits_2(self):
        missing = os.path.join(self.tmp, "no_such_candidate.c")
        proc = kforge("eval", "softmax_rows", missing, "--json")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn(missing, proc.stderr)
        self.assertIn("no such file", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_unknown_task_exits_2(self):
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        proc = kforge("eval", "no_such_task", fast)
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("no_such_task", proc.stderr)


class BadTaskTest(CliTestCase):
    def broken_copy(self, old, new):
        dst = os.path.join(self.tmp, "softmax_rows")
        shutil.copytree(task_dir("softmax_rows"), dst)
        yaml_path = os.path.join(dst, "task.yaml")
        with open(yaml_path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(yaml_path, "w") as f:
            f.write(text.replace(old, new, 1))
        return dst, yaml_path

    def test_malformed_task_names_file_and_field(self):
        cases = [
            ("{name: x, dtype: f32", "{name: x, dtype: f8", ["inputs[0].dtype", "f8"]),
            ("inputs:", "inptus:", ["inptus", "unknown field"]),
            ("bench: {rows: 2048, cols: 1000}", "bench: {rows: 2048}", ["sizes.bench", "cols"]),
        ]
        fast = os.path.join(task_dir("softmax_rows"), "examples", "fast.c")
        for old, new, expected in cases:
            with self.subTest(edit=new):
                dst, yaml_path = self.broken_copy(old, new)
                proc = kforge("eval", dst, fast, "--json", *FAST_EVAL)
                self.assertEqual(proc.returncode, 2, describe(proc))
                self.assertIn(yaml_path, proc.stderr)
                for part in expected:
                    self.assertIn(part, proc.stderr)
                self.assertEqual(proc.stdout, "")
                listing = kforge("tasks", self.tmp)
                self.assertEqual(listing.returncode, 2, describe(listing))
                self.assertIn("INVALID", listing.stdout)
                shutil.rmtree(dst)

    def test_output_too_small_for_tolerance_is_a_bad_task(self):
        task = os.path.join(self.tmp, "scale_tiny")
        self.write("scale_tiny/task.yaml", TINY_TASK_YAML)
        self.write("scale_tiny/reference.c", TINY_REFERENCE_C)
        initial = self.write("scale_tiny/initial.c", TINY_INITIAL_C)
        proc = kforge("eval", task, initial, "--json", *FAST_EVAL)
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("bad task", proc.stderr)
        self.assertIn("'y'", proc.stderr)


def main(argv):
    global KFORGE, REPO
    if len(argv) != 3:
        print("usage: test_cli.py KFORGE_BIN REPO_ROOT", file=sys.stderr)
        return 2
    KFORGE, REPO = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
