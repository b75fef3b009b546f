#include "task/task.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace kf::task {
namespace {
namespace fs = std::filesystem;

// gmock is not linked into the unit-test binary, so substring checks are spelled out.
::testing::AssertionResult HasSubstr(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// A valid task in the shape of softmax_rows; each malformed case edits one line of it.
constexpr std::string_view kValidYaml = R"(name: tiny
description: A small valid task.
backend: cpu
entry: tiny
params: [rows, cols]
sizes:
  bench: {rows: 64, cols: 32}
  check:
    - {rows: 1, cols: 1}
inputs:
  - {name: x, dtype: f32, shape: [rows, cols]}
outputs:
  - {name: y, dtype: f32, shape: [rows, cols]}
distributions: [normal, uniform]
tolerance: {atol: 1e-6, rtol: 1e-5, rel_norm: 1e-5}
cost:
  flops: "rows * cols"
  bytes: "8 * rows * cols"
reference: reference.c
initial: initial.c
policy:
  allow: [threads]
)";

class MalformedTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kforge_task_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Write("reference.c", "void tiny(void) {}\n");
    Write("initial.c", "void tiny(void) {}\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Write(const std::string& name, std::string_view text) { std::ofstream(dir_ / name) << text; }

  // kValidYaml with `from` replaced by `to`; `from` must occur.
  std::string Edit(std::string_view from, std::string_view to) {
    std::string yaml(kValidYaml);
    const size_t at = yaml.find(from);
    EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in the base task";
    if (at != std::string::npos) yaml.replace(at, from.size(), to);
    return yaml;
  }

  // Loads `yaml` and returns the error message; fails the test if it loads.
  std::string ErrorFor(std::string_view yaml) {
    Write("task.yaml", yaml);
    Result<Task> t = LoadTask(dir_);
    EXPECT_FALSE(t.ok()) << "loaded:\n" << yaml;
    const std::string message = t.status().message();
    EXPECT_TRUE(HasSubstr(message, (dir_ / "task.yaml").string())) << "the file is not named";
    return message;
  }

  fs::path dir_;
};

TEST(TaskTest, EveryCpuTaskLoads) {
  const fs::path root = fs::path(KFORGE_SOURCE_DIR) / "tasks" / "cpu";
  const auto dirs = FindTaskDirs(root);
  ASSERT_GE(dirs.size(), 4u);
  for (const auto& dir : dirs) {
    Result<Task> t = LoadTask(dir);
    ASSERT_TRUE(t.ok()) << dir << ": " << t.status().message();
    EXPECT_EQ(t->name, dir.filename().string());
    EXPECT_EQ(t->backend, backends::BackendKind::kCpu);
    EXPECT_FALSE(t->entry.empty());
    EXPECT_FALSE(t->inputs.empty());
    EXPECT_FALSE(t->outputs.empty());
    EXPECT_FALSE(t->distributions.empty());
    EXPECT_TRUE(fs::is_regular_file(t->reference)) << t->reference;
    EXPECT_TRUE(fs::is_regular_file(t->initial)) << t->initial;
    EXPECT_TRUE(t->reference.is_absolute());
    auto flops = t->Flops(t->bench_sizes);
    auto bytes = t->Bytes(t->bench_sizes);
    ASSERT_TRUE(flops.ok()) << flops.status().message();
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_GT(*flops, 0);
    EXPECT_GT(*bytes, 0);
    for (const auto& out : t->outputs) {
      auto n = t->Elements(out, t->bench_sizes);
      ASSERT_TRUE(n.ok()) << n.status().message();
      EXPECT_GT(*n, 0);
    }
  }
}

TEST(TaskTest, CudaMatmulHasTheCublasBaseline) {
  Result<Task> t = LoadTask(fs::path(KFORGE_SOURCE_DIR) / "tasks/cuda/matmul");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->baselines.size(), 1u);
  EXPECT_EQ(t->baselines[0].name, "cublas");
  EXPECT_EQ(t->baselines[0].libraries, (std::vector<std::string>{"cublas"}));
  EXPECT_TRUE(fs::is_regular_file(t->baselines[0].program));
}

TEST_F(MalformedTaskTest, BaselinesAreCheckedFieldByField) {
  Write("vendor.c", "void tiny(void) {}\n");
  EXPECT_TRUE(
      HasSubstr(ErrorFor(Edit("initial: initial.c\n",
                              "initial: initial.c\nbaselines:\n  - {name: fast, program: vendor.c, "
                              "libraries: [cublas]}\n")),
                "baselines[0].libraries"));
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("initial: initial.c\n",
                                      "initial: initial.c\nbaselines:\n  - {name: fast, "
                                      "program: missing.c}\n")),
                        "baselines[0].program"));
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("initial: initial.c\n",
                                      "initial: initial.c\nbaselines:\n  - {name: fast, "
                                      "program: vendor.c}\n  - {name: fast, program: "
                                      "vendor.c}\n")),
                        "baselines[1].name"));
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("initial: initial.c\n",
                                      "initial: initial.c\nbaselines:\n  - {name: fast, "
                                      "programme: vendor.c}\n")),
                        "baselines[0].programme"));
}

TEST(TaskTest, SoftmaxRowsFields) {
  Result<Task> t = LoadTask(fs::path(KFORGE_SOURCE_DIR) / "tasks/cpu/softmax_rows");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->entry, "softmax_rows");
  EXPECT_EQ(t->params, (std::vector<std::string>{"rows", "cols"}));
  EXPECT_EQ(t->bench_sizes, (Sizes{{"rows", 2048}, {"cols", 1000}}));
  EXPECT_FALSE(t->check_sizes.empty());
  ASSERT_EQ(t->inputs.size(), 1u);
  EXPECT_EQ(t->inputs[0].dtype, DType::kF32);
  EXPECT_EQ(*t->Shape(t->inputs[0], t->bench_sizes), (std::vector<int64_t>{2048, 1000}));
  EXPECT_DOUBLE_EQ(*t->Flops(t->bench_sizes), 5.0 * 2048 * 1000);
  EXPECT_TRUE(t->exact_determinism);
}

TEST_F(MalformedTaskTest, ValidBaseLoads) {
  Write("task.yaml", kValidYaml);
  Result<Task> t = LoadTask(dir_);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_TRUE(t->allows_threads);
  ASSERT_TRUE(t->tolerance.has_value());
  EXPECT_DOUBLE_EQ(t->tolerance->atol, 1e-6);
}

TEST_F(MalformedTaskTest, MissingEntry) {
  const std::string m = ErrorFor(Edit("entry: tiny\n", ""));
  EXPECT_TRUE(HasSubstr(m, "field 'entry'"));
  EXPECT_TRUE(HasSubstr(m, "missing; expected a string"));
}

// The backend's name is parsed once, here: an unknown one names the field and the known names.
TEST_F(MalformedTaskTest, UnknownBackend) {
  const std::string m = ErrorFor(Edit("backend: cpu\n", "backend: metal\n"));
  EXPECT_TRUE(HasSubstr(m, "field 'backend': expected 'cpu' or 'cuda', got 'metal'")) << m;
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("backend: cpu\n", "backend: CUDA\n")), "got 'CUDA'"));
}

TEST_F(MalformedTaskTest, CudaBackendLoadsAsItsKind) {
  Write("task.yaml", Edit("backend: cpu\n", "backend: cuda\n"));
  auto t = LoadTask(dir_);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->backend, backends::BackendKind::kCuda);
}

TEST_F(MalformedTaskTest, UnsupportedDType) {
  const std::string m = ErrorFor(Edit("{name: x, dtype: f32", "{name: x, dtype: f8"));
  EXPECT_TRUE(HasSubstr(m, "field 'inputs[0].dtype'"));
  EXPECT_TRUE(HasSubstr(m, "expected one of f32, f64, i32, i64, f16, bf16, got 'f8'"));
}

TEST_F(MalformedTaskTest, ShapeUsesUnknownParam) {
  const std::string m = ErrorFor(Edit("{name: y, dtype: f32, shape: [rows, cols]}",
                                      "{name: y, dtype: f32, "
                                      "shape: [rows, colz]}"));
  EXPECT_TRUE(HasSubstr(m, "field 'outputs[0].shape[1]'"));
  EXPECT_TRUE(HasSubstr(m, "unknown param 'colz'"));
}

TEST_F(MalformedTaskTest, BenchSizesMissingParam) {
  const std::string m = ErrorFor(Edit("bench: {rows: 64, cols: 32}", "bench: {rows: 64}"));
  EXPECT_TRUE(HasSubstr(m, "field 'sizes.bench'"));
  EXPECT_TRUE(HasSubstr(m, "missing a value for param 'cols'"));
}

TEST_F(MalformedTaskTest, CheckSizeNotAnInteger) {
  std::string m = ErrorFor(Edit("{rows: 1, cols: 1}", "{rows: 1.5, cols: 1}"));
  EXPECT_TRUE(HasSubstr(m, "field 'sizes.check[0].rows'"));
  EXPECT_TRUE(HasSubstr(m, "expected a positive integer, got '1.5'"));

  m = ErrorFor(Edit("{rows: 1, cols: 1}", "{rows: 1, cols: many}"));
  EXPECT_TRUE(HasSubstr(m, "field 'sizes.check[0].cols'"));
  EXPECT_TRUE(HasSubstr(m, "expected a number, got 'many'"));
}

TEST_F(MalformedTaskTest, UnknownTopLevelField) {
  const std::string m = ErrorFor(Edit("inputs:", "inptus:"));
  EXPECT_TRUE(HasSubstr(m, "field 'inptus'"));
  EXPECT_TRUE(HasSubstr(m, "unknown field"));
  EXPECT_TRUE(HasSubstr(m, "inputs"));  // the list of known fields
}

TEST_F(MalformedTaskTest, DistributionNameTypo) {
  const std::string m = ErrorFor(Edit("[normal, uniform]", "[normal, unifrom]"));
  EXPECT_TRUE(HasSubstr(m, "field 'distributions[1]'"));
  EXPECT_TRUE(HasSubstr(m, "unknown distribution 'unifrom'"));
  EXPECT_TRUE(HasSubstr(m, "expected normal, uniform"));
}

TEST_F(MalformedTaskTest, NegativeTolerance) {
  const std::string m = ErrorFor(Edit("rtol: 1e-5", "rtol: -1e-5"));
  EXPECT_TRUE(HasSubstr(m, "field 'tolerance.rtol'"));
  EXPECT_TRUE(HasSubstr(m, "expected a non-negative number"));
}

TEST_F(MalformedTaskTest, MissingReferenceFile) {
  const std::string m = ErrorFor(Edit("reference: reference.c", "reference: nowhere.c"));
  EXPECT_TRUE(HasSubstr(m, "field 'reference'"));
  EXPECT_TRUE(HasSubstr(m, "nowhere.c"));
  EXPECT_TRUE(HasSubstr(m, "does not exist"));
}

TEST_F(MalformedTaskTest, InvalidYamlSyntax) {
  const std::string m = ErrorFor(Edit("bench: {rows: 64, cols: 32}", "bench: {rows: 64, cols: 32"));
  EXPECT_TRUE(HasSubstr(m, "not valid YAML"));
}

TEST_F(MalformedTaskTest, CostUsesUnknownSymbol) {
  const std::string m = ErrorFor(Edit("flops: \"rows * cols\"", "flops: \"rows * colz\""));
  EXPECT_TRUE(HasSubstr(m, "field 'cost.flops'"));
  EXPECT_TRUE(HasSubstr(m, "unknown symbol 'colz'"));
}

TEST_F(MalformedTaskTest, UnknownPolicyRule) {
  const std::string m = ErrorFor(Edit("allow: [threads]", "allow: [thread]"));
  EXPECT_TRUE(HasSubstr(m, "field 'policy.allow'"));
  EXPECT_TRUE(HasSubstr(m, "unknown static-check rule 'thread'"));
  EXPECT_TRUE(HasSubstr(m, "threads"));  // the list of known rules
}

TEST_F(MalformedTaskTest, MissingTaskFile) {
  Result<Task> t = LoadTask(dir_);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(HasSubstr(t.status().message(), "task.yaml"));
}

}  // namespace
}  // namespace kf::task

namespace kf::task {
namespace {

// Regression: a NaN tolerance compared false against every bound and let all zeros pass.
TEST_F(MalformedTaskTest, NanToleranceIsRejected) {
  const std::string m = ErrorFor(Edit("atol: 1e-6", "atol: nan"));
  EXPECT_TRUE(HasSubstr(m, "field 'tolerance.atol'"));
  EXPECT_TRUE(HasSubstr(m, "finite"));
}

// Regression: typos in nested keys were silently ignored (all check sizes dropped).
TEST_F(MalformedTaskTest, NestedKeyTypoIsRejected) {
  const std::string m = ErrorFor(Edit("  check:", "  chekc:"));
  EXPECT_TRUE(HasSubstr(m, "field 'sizes.chekc'"));
  EXPECT_TRUE(HasSubstr(m, "unknown field"));
}

TEST_F(MalformedTaskTest, DuplicateParamIsRejected) {
  const std::string m = ErrorFor(Edit("params: [rows, cols]", "params: [rows, cols, rows]"));
  EXPECT_TRUE(HasSubstr(m, "field 'params'"));
  EXPECT_TRUE(HasSubstr(m, "twice"));
}

}  // namespace
}  // namespace kf::task

namespace kf::task {
namespace {

TEST_F(MalformedTaskTest, IntegerRangeByExpressionResolvesAtEachSize) {
  Write("task.yaml", Edit("outputs:",
                          "  - {name: n, dtype: i32, shape: [rows], distribution: {uniform: {low: "
                          "\"cols - cols/4\", high: cols}}, range: [1, cols]}\noutputs:"));
  Result<Task> t = LoadTask(dir_);
  ASSERT_TRUE(t.ok()) << t.status().message();
  const Distribution d =
      t->InputDistribution(t->inputs[1], t->distributions[0], {{"rows", 3}, {"cols", 100}});
  EXPECT_EQ(d.a, 75);
  EXPECT_EQ(d.b, 100);
  EXPECT_EQ(t->inputs[1].range, (std::vector<std::string>{"1", "cols"}));
  EXPECT_EQ(t->InputDistribution(t->inputs[0], t->distributions[1], {}).name, "uniform");
}

TEST_F(MalformedTaskTest, IntegerRangeByExpressionIsChecked) {
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("outputs:",
                                      "  - {name: n, dtype: i32, shape: [rows], distribution: "
                                      "{uniform: {low: 1, high: depth}}}\noutputs:")),
                        "unknown param 'depth'"));
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("outputs:",
                                      "  - {name: n, dtype: f32, shape: [rows], distribution: "
                                      "{uniform: {low: 1, high: cols}}}\noutputs:")),
                        "for integer inputs"));
  EXPECT_TRUE(HasSubstr(ErrorFor(Edit("  - {name: x, dtype: f32, shape: [rows, cols]}",
                                      "  - {name: x, dtype: f32, shape: [rows, cols], range: "
                                      "[1, cols]}")),
                        "only integer inputs"));
}

TEST(SizesArgTest, ParsesNamesAndPositiveIntegers) {
  auto s = ParseSizesArg("rows=8,cols=1024");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s).at("rows"), 8);
  EXPECT_EQ((*s).at("cols"), 1024);
  for (const char* bad : {"", "rows", "rows=", "=8", "rows=0", "rows=-3", "rows=8x"}) {
    EXPECT_FALSE(ParseSizesArg(bad).ok()) << bad;
  }
}

TEST(SizesArgTest, ReplacesANativeTasksBenchSizesAndRefusesUnknownNames) {
  const fs::path dir = fs::path(KFORGE_SOURCE_DIR) / "tasks/cpu/softmax_rows";
  Result<Task> t = LoadTask(dir, {{"rows", 8}});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->bench_sizes.at("rows"), 8);
  Result<Task> bad = LoadTask(dir, {{"batch", 8}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'batch', which is not a size of task softmax_rows"),
            std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(LoadTask(dir, {}, "bfloat16").ok());  // --dtype is for PyTorch tasks
}

}  // namespace
}  // namespace kf::task
