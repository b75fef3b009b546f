#include "eval/compiler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace kf::eval {
namespace {
namespace fs = std::filesystem;

// nvcc is on CI's machine too: CUDA candidates compile (and fail to compile) without a GPU.
TEST(CudaCompileTest, CompilesForHopperAndReportsResources) {
  if (!fs::exists("/usr/local/cuda/bin/nvcc")) GTEST_SKIP() << "no CUDA toolkit here";
  const fs::path dir = fs::path(::testing::TempDir()) / ("kf_cuda_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "k.cu") << "#include <cstdint>\n#include <cuda_runtime.h>\n"
                                 "__global__ void twice(const float* x, float* y, int64_t n) {\n"
                                 "  int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;\n"
                                 "  if (i < n) y[i] = 2 * x[i];\n}\n"
                                 "extern \"C\" void entry(const float* x, float* y, int64_t n,\n"
                                 "                      cudaStream_t s) {\n"
                                 "  twice<<<(n + 255) / 256, 256, 0, s>>>(x, y, n);\n}\n";
  std::ofstream(dir / "bad.cu") << "__global__ void k( { }\n";
  Compiler compiler(dir / "cache", 300);
  auto ok = compiler.Compile(dir / "k.cu", false);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->ok) << ok->log;
  ASSERT_EQ(ok->resources.size(), 1u) << ok->log;
  EXPECT_GT(ok->resources[0]["registers"].get<int>(), 0);
  auto bad = compiler.Compile(dir / "bad.cu", false);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_NE(bad->log.find("error"), std::string::npos);
  fs::remove_all(dir);
}

TEST(CudaCompileTest, KernelOnlyProgramsGoThroughNvrtcWithLoweredNamesAndResources) {
  const fs::path tool = fs::path(KFORGE_TOOLS_DIR) / "kforge-nvrtc";
  if (!fs::exists(tool)) GTEST_SKIP() << "kforge built without the CUDA toolkit";
  const fs::path dir = fs::path(::testing::TempDir()) / ("kf_nvrtc_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "k.cu") << "#include <cstdint>\n"
                                 "// kforge-launch: kernel=twice<2> grid=(n+255)/256 block=256\n"
                                 "template <int F> __global__ void twice(const float* x, float* y,"
                                 " int64_t n) {\n"
                                 "  int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;\n"
                                 "  if (i < n) y[i] = F * x[i];\n}\n";
  Compiler compiler(dir / "cache", 300);
  compiler.set_tools_dir(KFORGE_TOOLS_DIR);
  auto first = compiler.Compile(dir / "k.cu", false);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(first->ok) << first->log;
  EXPECT_TRUE(first->kernel_only);
  EXPECT_EQ(first->library.extension(), ".cubin");
  ASSERT_EQ(first->launches.size(), 1u);
  EXPECT_EQ(first->lowered_names["twice<2>"], "_Z5twiceILi2EEvPKfPfl");
  ASSERT_EQ(first->resources.size(), 1u) << first->log;
  EXPECT_GT(first->resources[0]["registers"].get<int>(), 0);
  auto again = compiler.Compile(dir / "k.cu", false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->cached);
  EXPECT_EQ(again->lowered_names, first->lowered_names);
  EXPECT_EQ(again->resources, first->resources);
  fs::remove_all(dir);
}

TEST(IncludeTraceTest, FindsTheFirstHeaderOutsideTheRootsAndDropsTheTrace) {
  const std::string output =
      ". /usr/include/stdint.h\n"
      ".. /usr/include/x86_64-linux-gnu/bits/wordsize.h\n"
      "program.c:3:1: warning: something\n"
      ". /usr/include/../../etc/hostname\n"
      ". /home/someone/secret.h\n"
      "Multiple include guards may be useful for:\n"
      "/usr/include/x86_64-linux-gnu/bits/wordsize.h\n"
      "program.c:9:1: error: the end\n";
  auto t = ReadIncludeTrace(output, "/cache/k/program.c", {"/usr"});
  EXPECT_EQ(t.outside, "/usr/include/../../etc/hostname");
  EXPECT_EQ(t.log, "program.c:3:1: warning: something\nprogram.c:9:1: error: the end\n");
  EXPECT_EQ(ReadIncludeTrace(". /cache/k/program.c\n", "/cache/k/program.c", {"/usr"}).outside, "");
  EXPECT_EQ(ReadIncludeTrace(". /usr/include/math.h\n", "/cache/k/program.c", {"/usr"}).outside,
            "");
}

class CompilerSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("kf_compile_sbx_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// A host file included through a macro (the static check reads the include as code) must not
// reach the compile log: refused by the include check when the compiler can see the file, and
// hidden by the sandbox when it runs under bubblewrap.
TEST_F(CompilerSandboxTest, HostFileIncludedThroughAMacroStaysOutOfTheLog) {
  const std::string secret = "kforge_secret_content_4711";
  std::ofstream(dir_ / "secret.txt") << secret << "\n";
  std::ofstream(dir_ / "p.c") << "#define KF_STR(x) #x\n#define KF_PATH(x) KF_STR(x)\n"
                              << "#include KF_PATH(" << (dir_ / "secret.txt").string() << ")\n"
                              << "int f(void) { return 1; }\n";
  for (bool sandbox : {true, false}) {
    Compiler compiler(dir_ / ("cache" + std::to_string(sandbox)), 60);
    compiler.set_sandbox(sandbox);
    auto r = compiler.Compile(dir_ / "p.c", false);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->log.find(secret), std::string::npos) << r->log;
    EXPECT_NE(r->log.find("secret.txt"), std::string::npos) << r->log;
    if (!sandbox) {
      EXPECT_EQ(r->include_violation, (dir_ / "secret.txt").string());
    }
  }
}

TEST_F(CompilerSandboxTest, OrdinaryProgramsCompileWithoutTheTraceInTheLog) {
  std::ofstream(dir_ / "p.cc") << "#include <vector>\n#include <cmath>\n"
                               << "extern \"C\" float f(int n) { std::vector<float> v(n, 2);\n"
                               << "  return std::sqrt(v[0]); }\n"
                               << "#warning kept\n";
  Compiler compiler(dir_ / "cache", 60);
  auto r = compiler.Compile(dir_ / "p.cc", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ok) << r->log;
  EXPECT_NE(r->log.find("kept"), std::string::npos) << r->log;
  EXPECT_EQ(r->log.find(". /usr/include"), std::string::npos) << r->log;
  EXPECT_EQ(r->log.find("Multiple include guards"), std::string::npos) << r->log;
}

TEST_F(CompilerSandboxTest, CompilerWritingAHugeFileIsStopped) {
  // 100 MiB of initialised data: the object written would be larger than the 64 MiB limit.
  std::ofstream(dir_ / "big.c") << "char big[100 << 20] = {1};\nint f(void) { return big[7]; }\n";
  Compiler compiler(dir_ / "cache", 120);
  auto r = compiler.Compile(dir_ / "big.c", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->log.find("larger than 64 MiB"), std::string::npos) << r->log;
  EXPECT_FALSE(fs::exists(r->library));
}

}  // namespace
}  // namespace kf::eval
