#!/usr/bin/env python3
"""End-to-end tests of PyTorch tasks (docs/pytorch.md): KernelBench-format module files judged by
the real kforge binary through the PyTorch bridge worker, with torch on the CPU
(build/torch-venv, made by scripts/torch_env).

usage: test_pytorch.py KFORGE_BIN REPO_ROOT

Covers module files with mistakes (each a clear error naming the problem), `kforge import`,
`kforge eval` of native and ModelNew candidates on a module file and on an imported task
directory, and `kforge optimize` refusing a PyTorch task without a starting program. Nothing
asserts on speed.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

KFORGE = ""
REPO = ""
FAST = ["--timing-seconds", "0.1"]

GOOD_TAIL = """

batch_size = 16
dim = 256


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
"""

MODEL = """import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.tanh(x)
"""

# Each broken module file and a phrase the error must contain.
BROKEN = {
    "does_not_import": ("import torch\nimport not_a_module_kforge\n" + GOOD_TAIL,
                        "does not import"),
    "no_get_inputs": (MODEL + "\nbatch_size = 4\n\ndef get_init_inputs():\n    return []\n",
                      "no 'get_inputs'"),
    "non_tensor_input": (MODEL + "\ndim = 8\n\ndef get_inputs():\n    return ['x' * dim]\n\n"
                         "def get_init_inputs():\n    return []\n", "is a str, not a tensor"),
    "scalars_only": (MODEL + "\ndef get_inputs():\n    return [2.0]\n\n"
                     "def get_init_inputs():\n    return []\n", "at least one tensor"),
    "forward_raises": ("import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):\n"
                       "    def forward(self, x):\n        raise RuntimeError('boom')\n" + GOOD_TAIL,
                       "Model.forward raised RuntimeError: boom"),
    "downloads_weights": ("import torch\nimport torch.nn as nn\nfrom transformers import AutoModel\n"
                          "\nclass Model(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                          "        self.m = AutoModel.from_pretrained('gpt2')\n"
                          "    def forward(self, x):\n        return x\n" + GOOD_TAIL,
                          "download"),
    "half_precision": (MODEL + "\ndef get_inputs():\n    return [torch.randn(4, 4).half()]\n\n"
                       "def get_init_inputs():\n    return []\n", "dtype torch.float16"),
}


def kforge(*args, timeout=600):
    return subprocess.run([KFORGE, *args], capture_output=True, text=True, timeout=timeout)


def describe(proc):
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"


def json_lines(proc):
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


class PyTorchTaskTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kforge-pytorch-")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_broken_modules_get_clear_errors(self):
        relu_c = os.path.join(REPO, "tests/pytorch/candidates/01_relu.c")
        for name, (text, phrase) in BROKEN.items():
            with self.subTest(name):
                problem = self.write(f"broken/{name}.py", text)
                proc = kforge("eval", problem, relu_c, *FAST)
                self.assertEqual(proc.returncode, 2, describe(proc))
                self.assertIn(phrase, proc.stderr, describe(proc))
                self.assertIn(f"{name}.py", proc.stderr)

    def test_import_skips_broken_and_writes_tasks(self):
        src = os.path.join(self.tmp, "problems")
        self.write("problems/tanh.py", MODEL + GOOD_TAIL)
        self.write("problems/no_get_inputs.py", BROKEN["no_get_inputs"][0])
        out = os.path.join(self.tmp, "tasks")
        proc = kforge("import", src, "--out", out)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn("1 of 2 problems imported", proc.stdout)
        self.assertIn("skipped   no_get_inputs.py: ", proc.stdout)
        with open(os.path.join(out, "tanh", "task.yaml")) as f:
            yaml = f.read()
        self.assertIn("void forward(const float* x, float* out, int64_t batch_size, int64_t dim)",
                      yaml)
        self.assertIn("pytorch: problem.py", yaml)
        # The imported directory is a task: a native candidate and a ModelNew are judged on it.
        native = self.write("tanh.c", "#include <math.h>\n#include <stdint.h>\n"
                            "void forward(const float* x, float* out, int64_t b, int64_t d) {\n"
                            "  for (int64_t i = 0; i < b * d; ++i) out[i] = tanhf(x[i]);\n}\n")
        modelnew = self.write("tanh_new.py", "import torch\nimport torch.nn as nn\n\n"
                              "class ModelNew(nn.Module):\n    def forward(self, x):\n"
                              "        return torch.tanh(x)\n")
        wrong = self.write("tanh_wrong.c", "#include <stdint.h>\n"
                           "void forward(const float* x, float* out, int64_t b, int64_t d) {\n"
                           "  for (int64_t i = 0; i < b * d; ++i) out[i] = x[i];\n}\n")
        proc = kforge("eval", os.path.join(out, "tanh"), native, modelnew, wrong, "--json", *FAST)
        self.assertEqual(proc.returncode, 0, describe(proc))
        results = json_lines(proc)
        self.assertEqual([r["verdict"] for r in results], ["ok", "ok", "wrong_answer"],
                         describe(proc))
        for r in results[:2]:
            self.assertEqual(r["baseline_name"], "PyTorch eager")
            self.assertEqual([b["name"] for b in r["baselines"]], ["torch.compile"])
            self.assertGreater(r["baselines"][0]["time_ms"]["median"], 0)
        self.assertIn("output 'out' is wrong", results[2]["detail"]["message"])

    def test_module_file_with_parameters(self):
        # Linear + ReLU: the candidate receives the weight and bias after the input.
        problem = os.path.join(REPO, "tests/pytorch/problems/04_linear_relu.py")
        cand = os.path.join(REPO, "tests/pytorch/candidates/04_linear_relu.c")
        new = os.path.join(REPO, "tests/pytorch/candidates/04_linear_relu_modelnew.py")
        proc = kforge("eval", problem, cand, new, "--json", *FAST)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual([r["verdict"] for r in json_lines(proc)], ["ok", "ok"], describe(proc))

    def test_modelnew_for_a_native_task_is_refused(self):
        new = os.path.join(REPO, "tests/pytorch/candidates/01_relu_modelnew.py")
        proc = kforge("eval", "softmax_rows", new, "--json", *FAST)
        self.assertEqual(proc.returncode, 0, describe(proc))
        r = json_lines(proc)[0]
        self.assertEqual(r["verdict"], "compile_error")
        self.assertIn("ModelNew", r["detail"]["message"])

    def kernelbench(self, level):
        path = os.path.join(os.path.dirname(os.path.abspath(REPO)), "shared", "kernelbench", level)
        if not os.path.isdir(path):
            self.skipTest(f"{path} is not there (KernelBench's problems beside the checkout)")
        return path

    def test_kernelbench_level1_imports_with_reasons(self):
        # Probed on the meta device, many modules per process: the real sizes cost nothing.
        out = os.path.join(self.tmp, "kb")
        proc = kforge("import", self.kernelbench("level1"), "--out", out, timeout=300)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn("90 of 90 problems imported", proc.stdout, describe(proc))
        # A float among the inputs is part of the task; a bool tensor is a buffer of _Bool.
        with open(os.path.join(out, "5_matrix_scalar_multiplication", "task.yaml")) as f:
            text = f.read()
            self.assertIn("void forward(const float* A, float* out, int64_t M, int64_t N)", text)
            self.assertIn("forward's s = 3.14 in every call", text)
        with open(os.path.join(out, "93_masked_cumsum", "task.yaml")) as f:
            self.assertIn("const _Bool* mask", f.read())
        with open(os.path.join(out, "19_relu", "task.yaml")) as f:
            self.assertIn("void forward(const float* x, float* out, int64_t batch_size, "
                          "int64_t dim)", f.read())

    def identity(self, problem):
        with open(problem) as f:
            return self.write("identity.py", f.read() + "\n\nclass ModelNew(Model):\n    pass\n")

    def test_identity_reads_one_at_smaller_sizes(self):
        # The problem's own code as the candidate, at --sizes: ok, and about 1.00x (the same
        # torch op in both; on a noisy 2-core machine within 25%).
        relu = os.path.join(self.kernelbench("level1"), "19_ReLU.py")
        proc = kforge("eval", relu, self.identity(relu), "--sizes", "batch_size=16,dim=16384",
                      "--json", "--timing-seconds", "0.5")
        self.assertEqual(proc.returncode, 0, describe(proc))
        r = json_lines(proc)[0]
        self.assertEqual(r["verdict"], "ok", describe(proc))
        self.assertGreater(r["speedup"], 0.8, describe(proc))
        self.assertLess(r["speedup"], 1.25, describe(proc))
        self.assertEqual(r["detail"]["memory"]["problem_bytes"], 2 * 16 * 16384 * 4)

    def test_scalar_and_bool_inputs_are_judged(self):
        # 5_Matrix_scalar_multiplication takes a float beside its tensor; 93_masked_cumsum a
        # bool mask: each problem's own code is ok, and a candidate that ignores the mask fails.
        level1 = self.kernelbench("level1")
        scale = os.path.join(level1, "5_Matrix_scalar_multiplication.py")
        proc = kforge("eval", scale, self.identity(scale), "--sizes", "M=256,N=128", "--json",
                      "--timing-seconds", "0.3")
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(json_lines(proc)[0]["verdict"], "ok", describe(proc))
        cumsum = os.path.join(level1, "93_masked_cumsum.py")
        unmasked = self.write("unmasked.py", "import torch\nimport torch.nn as nn\n\n\n"
                              "class ModelNew(nn.Module):\n    def __init__(self, dim):\n"
                              "        super().__init__()\n        self.dim = dim\n\n"
                              "    def forward(self, x, mask):\n"
                              "        return torch.cumsum(x, dim=self.dim)\n")
        proc = kforge("eval", cumsum, self.identity(cumsum), unmasked, "--sizes",
                      "batch_size=16", "--json", "--timing-seconds", "0.3")
        self.assertEqual(proc.returncode, 0, describe(proc))
        verdicts = [r["verdict"] for r in json_lines(proc)]
        self.assertEqual(verdicts, ["ok", "wrong_answer"], describe(proc))

    def test_unknown_size_name_is_refused(self):
        relu = os.path.join(self.kernelbench("level1"), "19_ReLU.py")
        proc = kforge("eval", relu, self.identity(relu), "--sizes", "batch=16")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("'batch', which is not an integer constant of the module", proc.stderr)

    def test_problem_too_large_is_refused_before_judging(self):
        relu = os.path.join(self.kernelbench("level1"), "19_ReLU.py")
        proc = kforge("eval", relu, self.identity(relu), "--sizes",
                      "batch_size=1000000,dim=1000000", "--json")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("of host memory", proc.stderr)
        self.assertIn("not judged", proc.stderr)
        self.assertIn("batch_size=1000000,dim=1000000", proc.stderr)
        self.assertIn("--sizes", proc.stderr)

    def test_failing_compile_baseline_still_gives_a_verdict(self):
        # torch.compile raises (an unknown mode): the baseline is reported failed, the candidate
        # is judged against eager, and the command succeeds.
        src = self.write("problems/tanh.py", MODEL + GOOD_TAIL)
        task = os.path.join(self.tmp, "tanh_task")
        os.makedirs(task)
        os.rename(src, os.path.join(task, "problem.py"))
        with open(os.path.join(task, "task.yaml"), "w") as f:
            f.write("pytorch: problem.py\nbackend: cpu\nbaselines: [compile:no-such-mode]\n")
        modelnew = self.write("tanh_new.py", "import torch\nimport torch.nn as nn\n\n"
                              "class ModelNew(nn.Module):\n    def forward(self, x):\n"
                              "        return torch.tanh(x)\n")
        proc = kforge("eval", task, modelnew, "--json", *FAST)
        self.assertEqual(proc.returncode, 0, describe(proc))
        r = json_lines(proc)[0]
        self.assertEqual(r["verdict"], "ok", describe(proc))
        self.assertEqual(len(r["baselines"]), 1, describe(proc))
        self.assertNotEqual(r["baselines"][0]["verdict"], "ok", describe(proc))
        self.assertTrue(r["baselines"][0]["message"], describe(proc))

    def test_half_precision_judges_and_zeros_fail(self):
        # --dtype bfloat16: the module and its inputs cast, the reference in float; an output
        # of zeros fails (the relative error norm of zeros is 1).
        relu = os.path.join(self.kernelbench("level1"), "19_ReLU.py")
        zeros = self.write("zeros.py", "import torch\nimport torch.nn as nn\n\n"
                           "class ModelNew(nn.Module):\n    def forward(self, x):\n"
                           "        return torch.zeros_like(x)\n")
        proc = kforge("eval", relu, self.identity(relu), zeros, "--dtype", "bfloat16", "--sizes",
                      "batch_size=16,dim=4096", "--json", *FAST)
        self.assertEqual(proc.returncode, 0, describe(proc))
        results = json_lines(proc)
        self.assertEqual([r["verdict"] for r in results], ["ok", "wrong_answer"], describe(proc))
        self.assertEqual(results[0]["detail"]["memory"]["problem_bytes"], 2 * 16 * 4096 * 2)
        out = os.path.join(self.tmp, "kb16")
        proc = kforge("import", relu, "--out", out, "--dtype", "float16", "--sizes",
                      "batch_size=16,dim=4096")
        self.assertEqual(proc.returncode, 0, describe(proc))
        with open(os.path.join(out, "19_relu", "task.yaml")) as f:
            yaml = f.read()
        self.assertIn("dtype: f16", yaml)
        self.assertIn("void forward(const _Float16* x, _Float16* out", yaml)

    def test_optimize_needs_a_start_program(self):
        problem = os.path.join(REPO, "tests/pytorch/problems/01_relu.py")
        proc = kforge("optimize", problem, "--strategy", "tune", "--out",
                      os.path.join(self.tmp, "run"))
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn("--start", proc.stderr)
        self.assertIn("void forward(const float* x, float* out", proc.stderr)

    def test_optimize_from_the_module_alone(self):
        # The model (a scripted fake) writes the first program: a reply without code, then one
        # with the wrong signature, then a correct one; each is recorded and fed back.
        problem = os.path.join(REPO, "tests/pytorch/problems/01_relu.py")
        replies = os.path.join(self.tmp, "replies")
        self.write("replies/01.md", "I would rather describe the idea first.")
        self.write("replies/02.md", "```c\n#include <stdint.h>\nvoid forward(const float* x, float* out) {}\n```\n")
        with open(os.path.join(REPO, "tests/pytorch/candidates/01_relu.c")) as f:
            self.write("replies/03.md", "```c\n" + f.read() + "```\n")
        model = "command:python3 " + os.path.join(REPO, "tests/e2e/scripted_model.py") + " " + replies
        run = os.path.join(self.tmp, "run")
        proc = kforge("optimize", problem, "--llm", model, "--budget-evals", "4", "--attempts", "2",
                      "--timing-seconds", "0.3", "--out", run)
        self.assertEqual(proc.returncode, 0, describe(proc))
        with open(os.path.join(run, "report.json")) as f:
            r = json.load(f)
        self.assertEqual(r["verdicts"].get("no_code"), 1, r["verdicts"])
        self.assertEqual(r["verdicts"].get("ok", 0) >= 1, True, r["verdicts"])
        self.assertEqual(r["baselines"][0]["name"], "PyTorch eager")
        self.assertIn("programs", r["final_comparison"])
        with open(os.path.join(replies, "prompts.log")) as f:
            prompts = f.read()
        self.assertIn("write the first C", prompts)
        self.assertIn("void forward(const float* x, float* out, int64_t batch_size", prompts)

        # A model that never gives a program: the run ends with a report saying so.
        self.write("never/01.md", "No.")
        run = os.path.join(self.tmp, "run-never")
        never = "command:python3 " + os.path.join(REPO, "tests/e2e/scripted_model.py") + " " + \
            os.path.join(self.tmp, "never")
        proc = kforge("optimize", problem, "--llm", never, "--budget-evals", "2", "--out", run)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn("no correct first program", proc.stdout)
        with open(os.path.join(run, "report.json")) as f:
            self.assertIsNone(json.load(f)["best"])


def main(argv):
    global KFORGE, REPO
    if len(argv) != 3:
        print("usage: test_pytorch.py KFORGE_BIN REPO_ROOT", file=sys.stderr)
        return 2
    KFORGE, REPO = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    venv = os.path.join(os.path.dirname(KFORGE), "torch-venv", "bin", "python3")
    if not os.path.exists(venv) and not os.environ.get("KFORGE_PYTHON"):
        print(f"no torch for the bridge: {venv} is missing (run scripts/torch_env)")
        return 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
