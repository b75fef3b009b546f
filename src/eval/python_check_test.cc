#include <gtest/gtest.h>

#include "eval/static_check.h"

namespace kf::eval {
namespace {

const char* kGood = R"(import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.cpp_extension import load_inline
import math

source = """
#include <cstdio>
int open_files() { return fopen("x", "w") != 0; }  // C++ in a string: not scanned
"""

class ModelNew(nn.Module):  # open(...) in a comment is fine
    def forward(self, x):
        y = torch.compile(F.relu)(x)
        return y if x.shape == y.shape else y * math.sqrt(2.0)
)";

TEST(PythonStaticChecks, AcceptsTorchCode) { EXPECT_FALSE(RunPythonStaticChecks(kGood)); }

TEST(PythonStaticChecks, RefusesOtherModules) {
  for (const char* src :
       {"import os\n", "import torch, time\n", "from kforge_problem import Model\n",
        "import ctypes as c\n", "from socket import socket\n"}) {
    auto v = RunPythonStaticChecks(src);
    ASSERT_TRUE(v) << src;
    EXPECT_EQ(v->rule, "import") << src;
    EXPECT_EQ(v->line, 1);
  }
}

TEST(PythonStaticChecks, RefusesEscapesAndPatches) {
  auto v = RunPythonStaticChecks("import torch\n\nx = open('/tmp/f', 'w')\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "escape");
  EXPECT_EQ(v->identifier, "open");
  EXPECT_EQ(v->line, 3);
  v = RunPythonStaticChecks("import torch\ntorch.cuda.synchronize = lambda: None\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "patch");
  EXPECT_EQ(v->identifier, "torch.cuda.synchronize");
  EXPECT_FALSE(RunPythonStaticChecks("import torch\nok = torch.float32 == torch.float32\n"));
  v = RunPythonStaticChecks("import torch\nfn = compile('1', 'f', 'eval')\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->identifier, "compile");
  v = RunPythonStaticChecks("import torch\nfor o in gc.get_objects(): pass\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->identifier, "gc");
}

TEST(PythonStaticChecks, RefusesEscapesReachedAsAttributes) {
  for (const char* src : {"import torch\ntorch.os.system('true')\n",
                          "import numpy as np\nlib = np.ctypes.CDLL(None)\n",
                          "import torch\nk = (1).__class__.__subclasses__()\n",
                          "import torch\ng = torch.nn.Module.forward.__globals__\n"}) {
    auto v = RunPythonStaticChecks(src);
    ASSERT_TRUE(v) << src;
    EXPECT_EQ(v->rule, "escape") << src;
    EXPECT_EQ(v->line, 2) << src;
  }
  // Ordinary methods that share a name with a refused builtin stay allowed.
  EXPECT_FALSE(
      RunPythonStaticChecks("import torch\nclass M(torch.nn.Module):\n  pass\nm = M().eval()\n"
                            "f = torch.compile(m)\n"));
}

TEST(PythonStaticChecks, RefusesStreamsOfItsOwn) {
  for (const char* src : {"import torch\ns = torch.cuda.Stream()\n",
                          "import torch\nwith torch.cuda.stream(s):\n    pass\n",
                          "import torch\ntorch.cuda.set_stream(s)\n"}) {
    auto v = RunPythonStaticChecks(src);
    ASSERT_TRUE(v) << src;
    EXPECT_EQ(v->rule, "streams") << src;
    EXPECT_EQ(v->line, 2) << src;
  }
  EXPECT_FALSE(RunPythonStaticChecks("import torch\ns = torch.cuda.current_stream()\n"));
}

}  // namespace
}  // namespace kf::eval
