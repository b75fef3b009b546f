#include "eval/static_check.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace kf::eval {
namespace {

std::optional<StaticViolation> Check(std::string_view source, const StaticPolicy& policy = {}) {
  return RunStaticChecks(source, policy);
}

StaticPolicy Allow(std::vector<std::string> rules) { return {std::move(rules), {}}; }
StaticPolicy Forbid(std::vector<std::string> identifiers) { return {{}, std::move(identifiers)}; }

// A candidate that does nothing it should not: SIMD, mmap, unistd, raise, a thread_count variable.
constexpr std::string_view kCleanCandidate = R"(#include <stdint.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <immintrin.h>
#include <signal.h>

static const int thread_count = 1;  // not a thread

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = fmaxf(m, x[r * cols + c]);
    float s = 0.f;
    for (int64_t c = 0; c < cols; ++c) s += (y[r * cols + c] = expf(x[r * cols + c] - m));
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] /= s;
  }
  if (rows < 0) raise(SIGABRT);
  (void)thread_count;
}
)";

TEST(StaticCheckTest, CleanCandidatePasses) {
  std::optional<StaticViolation> v = Check(kCleanCandidate);
  EXPECT_FALSE(v.has_value()) << v->rule << " " << v->identifier << " line " << v->line;
}

struct RuleCase {
  std::string rule;
  std::string identifier;
  std::string source;  // the violation is always on line 3
};

// Names the case in test listings instead of gtest's byte dump.
void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.rule << ":" << c.identifier; }

class RuleFiresTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleFiresTest, FiresWithRuleIdentifierAndLine) {
  const RuleCase& c = GetParam();
  std::optional<StaticViolation> v = Check(c.source);
  ASSERT_TRUE(v.has_value()) << c.source;
  EXPECT_EQ(v->rule, c.rule);
  EXPECT_EQ(v->identifier, c.identifier);
  EXPECT_EQ(v->line, 3);
}

INSTANTIATE_TEST_SUITE_P(
    AllRules, RuleFiresTest,
    ::testing::Values(
        RuleCase{"process", "fork", "#include <unistd.h>\nvoid f() {\n  if (fork() == 0) {}\n}\n"},
        RuleCase{"process", "execvp", "int a;\nint b;\nexecvp(\"sh\", 0);\n"},
        RuleCase{"process", "system", "int a;\n\n  system(\"ls\");\n"},
        RuleCase{"process", "popen", "int a;\n\nFILE* p = popen(\"id\", \"r\");\n"},
        RuleCase{"process", "posix_spawn", "\n\nposix_spawn(0, 0, 0, 0, 0, 0);\n"},
        RuleCase{"exit", "exit", "void f() {\n  int x = 0;\n  exit(0);\n}\n"},
        RuleCase{"exit", "_exit", "\n\n_exit(1);\n"},
        RuleCase{"exit", "atexit", "\n\natexit(g);\n"},
        RuleCase{"threads", "pthread_create", "\n\npthread_create(&t, 0, f, 0);\n"},
        RuleCase{"threads", "omp", "void f() {\n  int i;\n#pragma omp parallel for\n}\n"},
        RuleCase{"threads", "std::thread", "void f() {\n\n  std::thread t([] {});\n}\n"},
        RuleCase{"threads", "std::jthread", "\n\nstd :: jthread t(g);\n"},
        RuleCase{"threads", "std::async", "\n\nauto r = std::async(g);\n"},
        RuleCase{"threads", "thread", "using namespace std;\n\nthread t(g);\n"},
        RuleCase{"threads", "pthread.h", "#include <stdint.h>\n\n#include <pthread.h>\n"},
        RuleCase{"threads", "omp", "\n\n_Pragma(\"omp parallel for\") for (;;) {}\n"},
        RuleCase{"timers", "clock_gettime", "\n\nclock_gettime(CLOCK_MONOTONIC, &ts);\n"},
        RuleCase{"timers", "time", "\n\nlong t = time(0);\n"},
        RuleCase{"timers", "clock", "\n\nlong t = clock();\n"},
        RuleCase{"timers", "__rdtsc", "\n\nunsigned long long t = __rdtsc();\n"},
        RuleCase{"timers", "chrono", "\n\nauto t = std::chrono::steady_clock::now();\n"},
        RuleCase{"timers", "time.h", "\n\n#include <time.h>\n"},
        RuleCase{"timers", "sys/time.h", "\n\n#include <sys/time.h>\n"},
        RuleCase{"timers", "chrono", "\n\n#include <chrono>\n"},
        RuleCase{"environment", "getenv", "\n\nconst char* h = getenv(\"HOME\");\n"},
        RuleCase{"environment", "environ", "\n\nextern char** environ;\n"},
        RuleCase{"network", "socket", "\n\nint s = socket(AF_INET, SOCK_STREAM, 0);\n"},
        RuleCase{"network", "connect", "\n\nconnect(s, &a, sizeof a);\n"},
        RuleCase{"network", "sys/socket.h", "\n\n#include <sys/socket.h>\n"},
        RuleCase{"network", "netinet/in.h", "\n\n#include <netinet/in.h>\n"},
        RuleCase{"network", "arpa/inet.h", "\n\n#  include <arpa/inet.h>\n"},
        RuleCase{"files", "fopen", "\n\nFILE* f = fopen(\"/tmp/x\", \"w\");\n"},
        RuleCase{"files", "open", "\n\nint fd = open(\"x\", 0);\n"},
        RuleCase{"files", "unlink", "\n\nunlink(\"x\");\n"},
        RuleCase{"files", "ofstream", "\n\nstd::ofstream out(\"x\");\n"},
        RuleCase{"files", "../reference.c", "\n\n#include \"../reference.c\"\n"},
        RuleCase{"files", "/etc/passwd", "\n\n#include </etc/passwd>\n"},
        RuleCase{"asm", "asm", "\n\n  asm(\"nop\");\n"},
        RuleCase{"asm", "__asm__", "\n\n__asm__ __volatile__(\"rdtsc\");\n"},
        RuleCase{"asm", "__asm", "\n\n__asm(\"nop\");\n"},
        RuleCase{"memory_protection", "mprotect", "\n\nmprotect(p, 4096, 7);\n"},
        RuleCase{"memory_protection", "PROT_EXEC",
                 "\n\nvoid* p = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, -1, 0);\n"},
        RuleCase{"memory_protection", "dlsym", "\n\nvoid* f = dlsym(RTLD_NEXT, \"x\");\n"},
        RuleCase{"memory_protection", "dlfcn.h", "\n\n#include <dlfcn.h>\n"},
        RuleCase{"memory_protection", "/proc/", "\n\nconst char* p = \"/proc/self/maps\";\n"},
        RuleCase{"memory_protection", "/proc/", "\n\nconst char* p = \"/pro\" \"c/self/mem\";\n"},
        RuleCase{"memory_protection", "/proc/", "\n\nconst char* p = \"\\x2fproc\\057self\";\n"},
        RuleCase{"signals", "signal", "\n\nsignal(SIGSEGV, handler);\n"},
        RuleCase{"signals", "sigaction", "\n\nsigaction(SIGSEGV, &sa, 0);\n"},
        RuleCase{"syscall", "syscall", "\n\nsyscall(SYS_getpid);\n"},
        RuleCase{"timers", "clock64",
                 "__global__ void k(long long* t) {\n\n  *t = clock64();\n}\n"},
        RuleCase{"timers", "cudaEventElapsedTime", "\n\ncudaEventElapsedTime(&ms, a, b);\n"},
        RuleCase{"streams", "cudaStreamCreate", "\n\ncudaStreamCreate(&side);\n"},
        RuleCase{"streams", "cudaStreamCreateWithFlags",
                 "static cudaStream_t side;\n\ncudaStreamCreateWithFlags(&side, "
                 "cudaStreamNonBlocking);\n"},
        RuleCase{"streams", "cudaStreamCreateWithPriority",
                 "\n\ncudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, -1);\n"},
        RuleCase{"streams", "cudaStreamDestroy", "\n\ncudaStreamDestroy(s);\n"},
        RuleCase{"streams", "cudaLaunchHostFunc", "\n\ncudaLaunchHostFunc(stream, cb, 0);\n"},
        RuleCase{"streams", "cudaStreamAddCallback",
                 "\n\ncudaStreamAddCallback(stream, cb, 0, 0);\n"},
        RuleCase{"streams", "cudaGraphLaunch", "\n\ncudaGraphLaunch(exec, stream);\n"},
        RuleCase{"streams", "cudaStreamBeginCapture",
                 "\n\ncudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal);\n"},
        RuleCase{"streams", "cudaDeviceSetLimit",
                 "\n\ncudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 1 << 20);\n"},
        RuleCase{"streams", "cudaCtxResetPersistingL2Cache",
                 "\n\ncudaCtxResetPersistingL2Cache();\n"},
        RuleCase{
            "streams", "cudaStreamSetAttribute",
            "\n\ncudaStreamSetAttribute(stream, cudaStreamAttributeAccessPolicyWindow, &v);\n"},
        RuleCase{"streams", "accessPolicyWindow",
                 "cudaStreamAttrValue v = {};\n\nv.accessPolicyWindow.base_ptr = (void*)x;\n"},
        RuleCase{"streams", "cudaAccessPropertyPersisting",
                 "\n\nw.hitProp = cudaAccessPropertyPersisting;\n"},
        RuleCase{"streams", "cudaDeviceSetCacheConfig",
                 "\n\ncudaDeviceSetCacheConfig(cudaFuncCachePreferL1);\n"},
        RuleCase{"streams", "cudaDeviceReset", "\n\ncudaDeviceReset();\n"},
        RuleCase{"streams", "cudaSetDevice", "\n\ncudaSetDevice(1);\n"},
        RuleCase{"streams", "cuStreamCreate", "\n\ncuStreamCreate(&s, 0);\n"},
        RuleCase{"vendor_libraries", "cublas_v2.h",
                 "#include <cstdint>\n\n#include <cublas_v2.h>\n"},
        RuleCase{"vendor_libraries", "cublas.h", "\n\n#include \"cublas.h\"\n"},
        RuleCase{"vendor_libraries", "cublasLt.h", "\n\n#include <cublasLt.h>\n"},
        RuleCase{"vendor_libraries", "cudnn.h", "\n\n#include <cudnn.h>\n"},
        RuleCase{"vendor_libraries", "cufft.h", "\n\n#include <cufft.h>\n"},
        RuleCase{"vendor_libraries", "curand.h", "\n\n#include <curand.h>\n"},
        RuleCase{"vendor_libraries", "cusparse.h", "\n\n#include <cusparse.h>\n"},
        RuleCase{"vendor_libraries", "cusolverDn.h", "\n\n#include <cusolverDn.h>\n"},
        RuleCase{"vendor_libraries", "torch/extension.h", "\n\n#include <torch/extension.h>\n"},
        RuleCase{"vendor_libraries", "ATen/ATen.h", "\n\n#include <ATen/ATen.h>\n"},
        RuleCase{"vendor_libraries", "c10/cuda/CUDAStream.h",
                 "\n\n#include <c10/cuda/CUDAStream.h>\n"},
        RuleCase{"vendor_libraries", "x/cublas_v2.h", "\n\n#include \"x/cublas_v2.h\"\n"},
        RuleCase{
            "vendor_libraries", "cublasSgemm",
            "\n\ncublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &a, x, n, x, n, &b, y, n);\n"},
        RuleCase{"vendor_libraries", "cublasHandle_t", "\n\nstatic cublasHandle_t handle;\n"},
        RuleCase{"vendor_libraries", "CUBLAS_OP_N", "\n\nauto op = CUBLAS_OP_N;\n"},
        RuleCase{"vendor_libraries", "cudnnSoftmaxForward",
                 "\n\ncudnnSoftmaxForward(h, algo, mode, &a, xd, x, &b, yd, y);\n"},
        RuleCase{"vendor_libraries", "cufftExecC2C",
                 "\n\ncufftExecC2C(plan, in, out, CUFFT_FORWARD);\n"},
        RuleCase{"vendor_libraries", "cusparseSpMV",
                 "\n\ncusparseSpMV(h, op, &a, A, X, &b, Y, t, alg, buf);\n"},
        RuleCase{"vendor_libraries", "cusolverDnCreate", "\n\ncusolverDnCreate(&h);\n"}),
    [](const ::testing::TestParamInfo<RuleCase>& info) {
      return info.param.rule + "_" + std::to_string(info.index);
    });

TEST(StaticCheckTest, EveryDefaultRuleHasACase) {
  // Keeps the table above honest when a rule is added.
  EXPECT_EQ(StaticRuleNames(),
            (std::vector<std::string>{"process", "exit", "threads", "timers", "environment",
                                      "network", "files", "asm", "memory_protection", "signals",
                                      "syscall", "streams", "vendor_libraries"}));
}

// A CUDA candidate that does nothing it should not: the harness's stream, async copies and
// memsets on it, a function attribute, device intrinsics, curand's device API, cub-style names.
constexpr std::string_view kCleanCudaCandidate = R"(#include <cstdint>
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <curand_kernel.h>

__global__ void __launch_bounds__(256) softmax_kernel(const float* __restrict__ x, float* y,
                                                      int64_t rows, int64_t cols) {
  extern __shared__ float scratch[];
  const int64_t r = blockIdx.x;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, __ldg(x + r * cols + c));
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  scratch[threadIdx.x] = m;
  __syncthreads();
  y[r * cols + threadIdx.x] = __expf(x[r * cols + threadIdx.x] - scratch[0]);
}

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  static int my_cublas_counter = 0;  // contains a vendor name, does not start with it
  const size_t smem = 256 * sizeof(float);
  cudaFuncSetAttribute(softmax_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  cudaMemsetAsync(y, 0, rows * cols * sizeof(float), stream);
  cudaMemcpyAsync(y, x, sizeof(float), cudaMemcpyDeviceToDevice, stream);
  softmax_kernel<<<(unsigned)rows, 256, smem, stream>>>(x, y, rows, cols);
  cudaStreamSynchronize(stream);
  cudaError_t e = cudaGetLastError();
  (void)e;
  (void)my_cublas_counter;
}
)";

TEST(StaticCheckTest, CleanCudaCandidatePasses) {
  std::optional<StaticViolation> v = Check(kCleanCudaCandidate);
  EXPECT_FALSE(v.has_value()) << v->rule << " " << v->identifier << " line " << v->line;
}

TEST(StaticCheckTest, CudaRulesCanBeLifted) {
  const char* streams = "cudaStream_t s;\ncudaStreamCreate(&s);\n";
  std::optional<StaticViolation> v = Check(streams);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "streams");
  EXPECT_EQ(v->line, 2);
  EXPECT_FALSE(Check(streams, Allow({"streams"})).has_value());

  const char* vendor = "#include <cublas_v2.h>\ncublasHandle_t h;\ncublasCreate(&h);\n";
  v = Check(vendor);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "vendor_libraries");
  EXPECT_EQ(v->identifier, "cublas_v2.h");
  EXPECT_FALSE(Check(vendor, Allow({"vendor_libraries"})).has_value());
  EXPECT_TRUE(ValidateStaticPolicy(Allow({"streams", "vendor_libraries"})).ok());
  // Lifting vendor_libraries leaves streams, and the reverse.
  v = Check("#include <cudnn.h>\ncudaStreamCreate(&s);\n", Allow({"vendor_libraries"}));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "streams");
  v = Check("cudaStreamCreate(&s);\ncudnnCreate(&h);\n", Allow({"streams"}));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "vendor_libraries");
  EXPECT_EQ(v->identifier, "cudnnCreate");
}

TEST(StaticCheckTest, VendorPrefixesMatchOnlyAtTheStart) {
  // Names that contain a vendor prefix elsewhere, or a prefix's neighbours, are fine.
  EXPECT_FALSE(Check("int my_cublas = 0, n_cufft = 1, cub = 2, cuda_ok = 3, cu = 4;\n"));
  // By prefix, a variable of the candidate's own that starts with one fires too.
  std::optional<StaticViolation> v = Check("int cublas_free_count = 0;\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "vendor_libraries");
  EXPECT_FALSE(
      Check("#include <cuda_runtime.h>\n#include <cub/cub.cuh>\n#include <curand_kernel.h>\n"));
  EXPECT_FALSE(
      Check("curandState st; curand_init(1, 0, 0, &st); float u = curand_uniform(&st);\n"));
  EXPECT_FALSE(
      Check("#include <mma.h>\n#include <cuda/pipeline>\n#include <cooperative_groups.h>\n"));
  // Stream names that are legitimate in an entry.
  EXPECT_FALSE(Check("void f(cudaStream_t stream) { cudaStreamSynchronize(stream); }\n"));
  EXPECT_FALSE(Check("cudaMemcpyAsync(d, s, n, cudaMemcpyDeviceToDevice, stream);\n"));
  EXPECT_FALSE(Check("cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 1);\n"));
}

TEST(StaticCheckTest, PastedCudaNamesAreALimitation) {
  // As for fork: a stream created through a pasted name passes; the harness's device-wide
  // synchronisation and wall-clock cross-check are what count its work.
  EXPECT_FALSE(
      Check("#define CAT(a, b) a##b\nvoid f(cudaStream_t* s) { CAT(cudaStream, Create)(s); }\n"));
}

TEST(StaticCheckTest, CommentsAndStringsDoNotFire) {
  EXPECT_FALSE(Check("// fork()\nint x;\n").has_value());
  EXPECT_FALSE(Check("/* exit(0);\n   system(\"ls\"); */ int x;\n").has_value());
  EXPECT_FALSE(Check("const char* s = \"exit\";\n").has_value());
  EXPECT_FALSE(Check("const char* s = \"say \\\"fork\\\" twice\";\n").has_value());
  EXPECT_FALSE(Check("char c = 'x'; const char* t = \"time clock\";\n").has_value());
  EXPECT_FALSE(Check("const char* p = \"/process\";\n").has_value());
}

TEST(StaticCheckTest, IdentifiersMatchExactly) {
  EXPECT_FALSE(Check("int thread_count = 4;\nint timer = 0, exit_code = 1, forked = 0;\n"));
  EXPECT_FALSE(Check("struct S { int thread; };\nint async_ok;\n"));  // not std::thread
  EXPECT_FALSE(Check("double runtime_ms, open_count;\nvoid my_fork(void);\n"));
}

TEST(StaticCheckTest, StdBindIsNotTheSocketCall) {
  EXPECT_FALSE(Check("auto g = std::bind(f, 1);\n").has_value());
  std::optional<StaticViolation> v = Check("bind(fd, &addr, len);\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "network");
}

TEST(StaticCheckTest, MacroPastedNamesAreALimitation) {
  // The preprocessor builds `fork` from two tokens; no identifier says fork, so this passes and
  // the sandbox is what stops it at run time.
  EXPECT_FALSE(Check("#define CAT(a, b) a##b\nvoid f() { CAT(for, k)(); }\n").has_value());
}

TEST(StaticCheckTest, AllowedHeadersPass) {
  EXPECT_FALSE(Check("#include <unistd.h>\n#include <sys/mman.h>\n#include <stdlib.h>\n"));
  EXPECT_FALSE(Check("#include <immintrin.h>\n#include <cmath>\n#include <vector>\n"));
  EXPECT_FALSE(Check("void* p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);\n"));
}

TEST(StaticCheckTest, PolicyAllowLiftsARule) {
  const char* source = "#include <pthread.h>\n#pragma omp parallel for\nfor (;;) {}\n";
  std::optional<StaticViolation> v = Check(source);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "threads");
  EXPECT_EQ(v->line, 1);
  EXPECT_FALSE(Check(source, Allow({"threads"})).has_value());
  // Lifting one rule leaves the others.
  v = Check("#pragma omp parallel\nexit(0);\n", Allow({"threads"}));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "exit");
  EXPECT_EQ(v->line, 2);
}

TEST(StaticCheckTest, PolicyForbidAddsIdentifiers) {
  const char* source =
      "#include <string.h>\nvoid f(float* d, const float* s) {\n"
      "  memcpy(d, s, 64);\n}\n";
  EXPECT_FALSE(Check(source).has_value());
  std::optional<StaticViolation> v = Check(source, Forbid({"memcpy"}));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "policy");
  EXPECT_EQ(v->identifier, "memcpy");
  EXPECT_EQ(v->line, 3);
  EXPECT_EQ(v->text, "memcpy(d, s, 64);");
  // A forbidden identifier still fires when its default rule is lifted.
  v = Check("fork();\n", {{"process"}, {"fork"}});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "policy");
}

TEST(StaticCheckTest, ReportsTheFirstViolationInSourceOrder) {
  std::optional<StaticViolation> v =
      Check("int a;\nvoid f() { getenv(\"X\"); fork(); }\nexit(1);\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "environment");
  EXPECT_EQ(v->line, 2);
  EXPECT_EQ(v->text, "void f() { getenv(\"X\"); fork(); }");
}

TEST(StaticCheckTest, LineTextIsTrimmedAndCapped) {
  std::optional<StaticViolation> v = Check("\n\t   exit(0);   \r\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->line, 2);
  EXPECT_EQ(v->text, "exit(0);");
  v = Check("exit(0); // " + std::string(300, 'x') + "\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->text.size(), 200u);
  // Never cut inside a UTF-8 sequence: the text goes into JSON.
  v = Check("exit(0); //" + std::string(188, ' ') + "\xc3\xa9tape\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->text.size(), 199u);
}

// Regressions for ways a candidate could hide a name from a naive scan.
TEST(StaticCheckTest, LineSplicesAreUndone) {
  std::optional<StaticViolation> v = Check("int a;\nvoid f() { fo\\\nrk(); }\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "fork");
  EXPECT_EQ(v->line, 2);
  // A // comment continued by a splice swallows the next line, as the compiler does.
  EXPECT_FALSE(Check("// note \\\nfork();\n").has_value());
}

TEST(StaticCheckTest, DigitSeparatorsDoNotOpenACharLiteral) {
  std::optional<StaticViolation> v = Check("int n = 1'000; fork(); char c = 'a';\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "fork");
}

TEST(StaticCheckTest, RawStringsAreData) {
  EXPECT_FALSE(Check("const char* s = R\"(exit(0); fork();)\";\n").has_value());
  EXPECT_FALSE(Check("const char* s = R\"x(a \"quoted\" exit)x\";\n").has_value());
  // The same text read as C, where R"( is no raw string: `fork` is code after the comment.
  std::optional<StaticViolation> v = Check("R\"( \"  )\" /* \" fork(); */\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "fork");
}

TEST(StaticCheckTest, RawStringWithUnbalancedQuotesIsAKnownFalsePositive) {
  // Read as C, `"x(a "` and `" )"` are strings and `quoted` and `exit` are code. Both readings
  // count (the checker does not know the language), so this C++ raw string is rejected.
  std::optional<StaticViolation> v = Check("const char* s = R\"x(a \"quoted\" )\" exit)x\";\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "exit");
}

TEST(StaticCheckTest, SplicesAreNotUndoneInsideRawStrings) {
  // In C++ the backslash-newline stays inside the raw string, so `)\<newline>"` does not end it
  // and the real end is the later `)"`, after which `fork` is code.
  std::optional<StaticViolation> v = Check("auto s = R\"(x)\\\n\" ')\" fork();\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "fork");
  EXPECT_EQ(v->line, 2);
}

TEST(StaticCheckTest, TrigraphsAreReadAsC) {
  // In C17, ??/ is a backslash, so this is a line splice and the name is `fork`.
  std::optional<StaticViolation> v = Check("void f() { fo?\?/\nrk(); }\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "fork");
  v = Check("?\?=include <pthread.h>\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "pthread.h");
  v = Check("%:include <dlfcn.h>\n");  // digraph
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->identifier, "dlfcn.h");
}

TEST(StaticCheckTest, SymbolNamingAttributesAreCode) {
  std::optional<StaticViolation> v =
      Check("static int my_spawn(void) __attribute__((weakref(\"fork\")));\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "process");
  EXPECT_EQ(v->identifier, "fork");
  v = Check("void q(int) __attribute__((alias(\"_exit\")));\n");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "exit");
}

TEST(StaticCheckTest, ValidatePolicy) {
  EXPECT_TRUE(ValidateStaticPolicy({}).ok());
  EXPECT_TRUE(ValidateStaticPolicy({{"threads", "timers"}, {"memcpy"}}).ok());
  Status s = ValidateStaticPolicy(Allow({"thread"}));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("policy.allow: unknown static-check rule 'thread' (known: process, "
                              "exit, threads,",
                              0),
            0u)
      << s.message();
  s = ValidateStaticPolicy(Forbid({"std::memcpy"}));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "policy.forbid: 'std::memcpy' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  EXPECT_FALSE(ValidateStaticPolicy(Forbid({""})).ok());
  EXPECT_FALSE(ValidateStaticPolicy(Forbid({"9lives"})).ok());
}

TEST(StaticCheckTest, UnknownAllowNamesAreIgnoredByTheCheck) {
  std::optional<StaticViolation> v = Check("fork();\n", Allow({"no_such_rule"}));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "process");
}

}  // namespace
}  // namespace kf::eval
