#!/usr/bin/env python3
"""End-to-end tests of CUDA candidates that need no GPU: everything kforge decides before a
worker starts (static checks, nvcc and NVRTC compiles, launch declarations) is a verdict here too.

usage: test_cuda_compile.py KFORGE_BIN REPO_ROOT

Skips when kforge was built without the CUDA toolkit (no kforge-nvrtc beside it).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

KFORGE = ""
REPO = ""

HEADER = "#include <cstdint>\n"
KERNEL = """__global__ void softmax_rows_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  const int64_t r = blockIdx.x;
  if (r < rows && threadIdx.x == 0) for (int64_t c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c];
}
"""
GOOD_LAUNCH = "// kforge-launch: kernel=softmax_rows_kernel grid=rows block=32\n"


class CudaCompileVerdictsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kforge_cuda_e2e_")
        self.task = os.path.join(REPO, "tasks", "cuda", "softmax_rows")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def judge(self, source):
        path = os.path.join(self.tmp, "cand.cu")
        with open(path, "w") as f:
            f.write(source)
        proc = subprocess.run([KFORGE, "eval", self.task, path, "--json"], capture_output=True,
                              text=True, timeout=600)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        (r,) = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        return r

    def test_nvrtc_syntax_error_is_a_compile_error_with_the_log(self):
        r = self.judge(HEADER + GOOD_LAUNCH + "__global__ void softmax_rows_kernel( { }\n")
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "compile_error", what)
        self.assertIn("error", r["detail"]["compiler_log"], what)
        self.assertIn("kforge-nvrtc", r["detail"]["command"], what)

    def test_launch_of_an_undefined_kernel_is_a_compile_error(self):
        r = self.judge(HEADER + "// kforge-launch: kernel=no_such_kernel grid=rows block=32\n" +
                       KERNEL)
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "compile_error", what)
        self.assertIn("no_such_kernel", r["detail"]["compiler_log"], what)

    def test_launch_naming_an_unknown_size_is_a_compile_error(self):
        r = self.judge(HEADER + "// kforge-launch: kernel=softmax_rows_kernel grid=rowz block=32\n"
                       + KERNEL)
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "compile_error", what)
        self.assertIn("'rowz'", r["detail"]["message"], what)
        self.assertIn("line 2", r["detail"]["message"], what)

    def test_malformed_launch_declaration_is_a_compile_error(self):
        r = self.judge(HEADER + "// kforge-launch: kernel=softmax_rows_kernel grid=rows\n" + KERNEL)
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "compile_error", what)
        self.assertIn("block=", r["detail"]["compiler_log"], what)

    def test_stream_creation_in_a_kernel_only_program_is_a_static_violation(self):
        r = self.judge(HEADER + GOOD_LAUNCH + KERNEL +
                       "__device__ void f() { cudaStream_t s; cudaStreamCreate(&s); }\n")
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "static_violation", what)
        self.assertEqual(r["detail"]["static"]["rule"], "streams", what)

    def test_nvcc_syntax_error_is_a_compile_error(self):
        r = self.judge(HEADER + 'extern "C" void softmax_rows(const float* x) { not C++ }\n')
        what = json.dumps(r)[:3000]
        self.assertEqual(r["verdict"], "compile_error", what)
        self.assertIn("nvcc", r["detail"]["command"], what)


def main(argv):
    global KFORGE, REPO
    if len(argv) != 3:
        print("usage: test_cuda_compile.py KFORGE_BIN REPO_ROOT", file=sys.stderr)
        return 2
    KFORGE, REPO = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    if not os.path.exists(os.path.join(os.path.dirname(KFORGE), "kforge-nvrtc")):
        print("kforge was built without the CUDA toolkit: nothing to test")
        return 0
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
