#!/usr/bin/env python3
"""End-to-end tests of `kforge export` (docs/export.md) on the CPU: programs of CPU tasks, one of
them the winner of a real `kforge optimize --strategy tune` run, exported as PyTorch custom ops,
imported by the CPU torch of build/torch-venv (scripts/torch_env) without kforge, compared with
torch's own answer, traced by torch.compile, and called with bad arguments.

usage: test_export.py KFORGE_BIN REPO_ROOT
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

KFORGE = ""
REPO = ""
PYTHON = ""

# A CPU task with an integer input whose values must stay in a range: y[r] = sum of the first
# lens[r] elements of row r (the shape of a KV cache's per-sequence lengths).
MASKED_TASK = """name: masked_row_sum
description: Sum of the first lens[r] elements of each row of a float32 matrix.
backend: cpu
entry: masked_row_sum
params: [rows, cols]
sizes:
  bench: {rows: 64, cols: 1000}
  check:
    - {rows: 3, cols: 7}
inputs:
  - {name: x, dtype: f32, shape: [rows, cols]}
  - {name: lens, dtype: i32, shape: [rows], range: [1, cols],
     distribution: {uniform: {low: "cols - cols/2", high: cols}}}
outputs:
  - {name: y, dtype: f32, shape: [rows]}
distributions: [normal]
tolerance: {atol: 1e-4, rtol: 1e-4, rel_norm: 1e-5}
cost:
  flops: "rows * cols"
  bytes: "4 * rows * cols + 8 * rows"
reference: reference.c
initial: initial.c
"""
MASKED_REFERENCE = """#include <stdint.h>
void masked_row_sum(const double* x, const int32_t* lens, double* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    double s = 0;
    for (int64_t c = 0; c < lens[r]; c++) s += x[r * cols + c];
    y[r] = s;
  }
}
"""
MASKED_INITIAL = MASKED_REFERENCE.replace("double", "float").replace("float s", "double s")

# Run by the torch venv's python: argv[1] the directory holding the packages.
CHECKS = r"""
import sys
import torch
sys.path.insert(0, sys.argv[1])
assert "kforge" not in sys.modules
import softmax_op, matmul_op, masked_op

def raises(exc, words, fn, *args):
    try:
        fn(*args)
    except exc as e:
        for w in words:
            assert w in str(e), f"{exc.__name__} '{e}' does not name '{w}'"
        return
    raise AssertionError(f"no {exc.__name__} for {words}")

torch.manual_seed(0)
# softmax_rows: the answer of torch's softmax in float64, within the task's tolerance.
x = torch.randn(37, 1001) * 10
y = softmax_op.softmax_rows(x)
torch.testing.assert_close(y, torch.softmax(x.double(), 1).float(), atol=1e-6, rtol=5e-5)
assert torch.ops.kforge_test.softmax_rows(x).equal(y)
# Non-contiguous input: copied, never read with the wrong strides.
xt = (torch.randn(1001, 37) * 3).t()
torch.testing.assert_close(softmax_op.softmax_rows(xt), torch.softmax(xt.double(), 1).float(),
                           atol=1e-6, rtol=5e-5)
# Bad arguments: named.
raises(TypeError, ["x", "torch.float32", "torch.float64"], softmax_op.softmax_rows, x.double())
raises(ValueError, ["x", "2 dimensions"], softmax_op.softmax_rows, torch.randn(5))
raises(ValueError, ["x", "CPU", "meta"], softmax_op.softmax_rows, torch.empty(3, 4, device="meta"))
raises(ValueError, ["cols", "at least 1"], softmax_op.softmax_rows, torch.randn(3, 0))
# torch.compile traces the op through its fake implementation (no graph break).
compiled = torch.compile(lambda t: softmax_op.softmax_rows(t) * 2, backend="aot_eager",
                         fullgraph=True)
torch.testing.assert_close(compiled(x), y * 2)
torch.library.opcheck(torch.ops.kforge_test.softmax_rows, (x,))

# matmul, from a tune run's best.c: M, N, K from the shapes, a mismatch named.
a, b = torch.randn(65, 129), torch.randn(129, 33)
torch.testing.assert_close(matmul_op.matmul(a, b), (a.double() @ b.double()).float(),
                           atol=1e-3, rtol=1e-4)
raises(ValueError, ["b", "[129, 33]", "[128, 33]"], matmul_op.matmul, a, torch.randn(128, 33))

# masked_row_sum: lengths outside [1, cols] refused, zero included.
x = torch.randn(6, 50)
lens = torch.tensor([1, 50, 17, 3, 49, 25], dtype=torch.int32)
want = torch.stack([x[r, :lens[r]].double().sum() for r in range(6)]).float()
torch.testing.assert_close(masked_op.masked_row_sum(x, lens), want, atol=1e-4, rtol=1e-4)
raises(ValueError, ["lens", "[1, 50]", "got 0"], masked_op.masked_row_sum, x,
       torch.tensor([1, 50, 0, 3, 4, 5], dtype=torch.int32))
raises(ValueError, ["lens", "[1, 50]", "got 51"], masked_op.masked_row_sum, x,
       torch.tensor([1, 51, 2, 3, 4, 5], dtype=torch.int32))
raises(TypeError, ["lens", "torch.int32"], masked_op.masked_row_sum, x, lens.long())
raises(ValueError, ["lens", "[6]"], masked_op.masked_row_sum, x, lens[:5])
raises(TypeError, ["lens", "torch.Tensor"], masked_op.masked_row_sum, x, [1, 2, 3, 4, 5, 6])
print("export checks passed")
"""


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kforge_export_")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def kforge(self, *args, ok=True):
        proc = subprocess.run([KFORGE, *args], capture_output=True, text=True, timeout=900)
        if ok:
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc

    def export(self, program, task, op, package):
        self.kforge("export", program, "--task", task, "--torch-op", op, "--out",
                    os.path.join(self.dir, package))

    def test_exported_ops_match_and_refuse_bad_input(self):
        # A real run: two tune points of the CPU matmul, its winner written as best.c.
        run = os.path.join(self.dir, "run")
        self.kforge("optimize", os.path.join(REPO, "tasks/cpu/matmul"), "--strategy", "tune",
                    "--start", os.path.join(REPO, "tasks/cpu/matmul/examples/tunable.c"),
                    "--budget-evals", "2", "--timing-seconds", "0.1", "--out", run)
        self.assertTrue(os.path.exists(os.path.join(run, "best.c")))
        self.export(run, "matmul", "kforge_test::matmul", "matmul_op")
        self.export(os.path.join(REPO, "tasks/cpu/softmax_rows/examples/fast.c"), "softmax_rows",
                    "kforge_test::softmax_rows", "softmax_op")
        task = os.path.join(self.dir, "masked_row_sum")
        os.makedirs(task)
        for name, text in [("task.yaml", MASKED_TASK), ("reference.c", MASKED_REFERENCE),
                           ("initial.c", MASKED_INITIAL)]:
            with open(os.path.join(task, name), "w") as f:
                f.write(text)
        self.export(os.path.join(task, "initial.c"), task, "kforge_test::masked_row_sum",
                    "masked_op")
        spec = json.load(open(os.path.join(self.dir, "masked_op", "spec.json")))
        self.assertEqual(spec["inputs"][1]["range"], ["1", "cols"])
        env = dict(os.environ, KFORGE_EXPORT_CACHE=os.path.join(self.dir, "cache"))
        proc = subprocess.run([PYTHON, "-c", CHECKS, self.dir], capture_output=True, text=True,
                              timeout=900, env=env)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("export checks passed", proc.stdout)
        # A second process finds the compiled libraries in the cache.
        libs = os.listdir(os.path.join(self.dir, "cache"))
        self.assertEqual(len([f for f in libs if f.endswith(".so")]), 3, libs)

    def test_export_refuses_what_it_cannot_export(self):
        out = os.path.join(self.dir, "op")
        cases = [
            (["export", os.path.join(REPO, "tasks/cpu/softmax_rows/examples/fast.c"), "--task",
              "softmax_rows", "--torch-op", "no_namespace", "--out", out], "NAMESPACE::NAME"),
            (["export", os.path.join(REPO, "tasks/cuda/softmax_rows/examples/fast.cu"), "--task",
              "tasks/cpu/softmax_rows", "--torch-op", "a::b", "--out", out], "C or C++"),
            (["export", self.dir, "--task", "softmax_rows", "--torch-op", "a::b", "--out", out],
             "no best.*"),
            (["export", os.path.join(REPO, "tasks/cpu/softmax_rows/examples/fast.c"), "--task",
              "softmax_rows", "--torch-op", "a::b", "--out", os.path.join(self.dir, "not-id")],
             "identifier"),
        ]
        for args, words in cases:
            if args[3] == "tasks/cpu/softmax_rows":
                args[3] = os.path.join(REPO, args[3])
            proc = self.kforge(*args, ok=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(words, proc.stderr)


def main(argv):
    global KFORGE, REPO, PYTHON
    if len(argv) != 3:
        print("usage: test_export.py KFORGE_BIN REPO_ROOT", file=sys.stderr)
        return 2
    KFORGE, REPO = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    PYTHON = os.environ.get("KFORGE_PYTHON") or os.path.join(
        os.path.dirname(KFORGE), "torch-venv", "bin", "python3")
    if not os.path.exists(PYTHON):
        print(f"no torch for the exported ops: {PYTHON} is missing (run scripts/torch_env)")
        return 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
