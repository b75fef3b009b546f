// A task: what a candidate must compute, at which sizes, how it is checked and what it costs.
// Loaded from TASK_DIR/task.yaml (format in docs/tasks.md). LoadTask validates everything it can
// without running code, and its errors name the file, the field and what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "eval/static_check.h"
#include "task/dtype.h"
#include "util/status.h"

namespace kf::task {

// Values for a task's size parameters, e.g. {rows: 2048, cols: 1000}.
using Sizes = std::map<std::string, int64_t>;

struct Tolerance {
  double atol = 0;
  double rtol = 0;
  double rel_norm = 0;
};

struct Distribution {
  enum class Kind { kNormal, kUniform };
  Distribution() = default;
  Distribution(std::string name_, Kind kind_, double a_, double b_,
               std::optional<Tolerance> tolerance_)
      : name(std::move(name_)), kind(kind_), a(a_), b(b_), tolerance(tolerance_) {}
  std::string name;  // as written: "normal", "large", or "normal(mean=0,std=5)"
  Kind kind = Kind::kNormal;
  double a = 0;  // mean or low
  double b = 1;  // std or high
  // Inputs from some distributions are harder to compute on in the task's precision (a large
  // mean makes a norm ill-conditioned): such a distribution may carry its own tolerance.
  std::optional<Tolerance> tolerance;
  // An integer input's uniform range given by expressions over the params ({uniform: {low: 1,
  // high: ctx}}: lengths that fit the buffers at every size); empty when a and b are constants.
  // Task::InputDistribution resolves them at a trial's sizes.
  std::string low_expr, high_expr;
};

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::string> shape;            // expressions over params
  std::optional<Distribution> distribution;  // fixed distribution for this input, if any
  // Integer inputs: the values the entry accepts, [low, high] as expressions over the params
  // (`range: [1, ctx]`); empty when any value goes. An exported op refuses values outside it
  // (docs/export.md); trials draw from `distribution`, which should lie inside it.
  std::vector<std::string> range;
};

// A program users would deploy instead of writing a kernel (a vendor library call), timed
// beside the initial program by the same protocol. Trusted: no static checks, may link
// `libraries` (cublas, cublasLt); checked for correctness once per evaluator.
struct Baseline {
  std::string name;
  std::filesystem::path program;  // absolute
  std::vector<std::string> libraries;
};

// A task made from a PyTorch module in KernelBench format (torch_task.h): the module's file, the
// python3 that runs it, and what the bridge worker needs to rebuild it.
struct TorchModule {
  std::filesystem::path file;  // absolute
  std::string python;          // the interpreter with torch
  size_t forward_inputs = 0;   // task inputs [0, n) are forward's; the rest the module's parameters
  std::string init_inputs;     // get_init_inputs() as JSON
  // get_inputs()'s values that are not tensors (a Python float or int), as JSON
  // [{"index": i, "name": n, "value": v}]: forward gets them at their place in every call, fixed
  // at the value the module gave when it was probed.
  std::string scalars = "[]";
  std::vector<std::string> baselines;  // besides eager: "compile" or "compile:MODE"
  std::string source;                  // the module's text, for prompts
  Sizes sizes;        // constants overridden before the module is built (`--sizes`); empty: its own
  std::string dtype;  // "f16" or "bf16": the module cast to half precision; empty: as written
};

struct Task {
  std::filesystem::path dir;
  std::string name;
  std::string description;
  backends::BackendKind backend = backends::BackendKind::kCpu;
  std::string entry;
  std::vector<std::string> params;
  Sizes bench_sizes;
  std::vector<Sizes> check_sizes;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<Distribution> distributions;
  std::optional<Tolerance> tolerance;  // unset: defaults by output dtype
  std::string flops_expr;
  std::string bytes_expr;
  std::filesystem::path reference;  // absolute
  std::filesystem::path initial;    // absolute
  std::vector<Baseline> baselines;  // besides the initial program
  eval::StaticPolicy policy;
  bool exact_determinism = true;
  bool allows_threads = false;
  std::optional<TorchModule> torch;  // set for PyTorch tasks: no reference/initial programs

  // Element counts of a tensor at the given sizes.
  Result<int64_t> Elements(const TensorSpec& t, const Sizes& sizes) const;
  Result<std::vector<int64_t>> Shape(const TensorSpec& t, const Sizes& sizes) const;
  Result<double> Flops(const Sizes& sizes) const;
  Result<double> Bytes(const Sizes& sizes) const;
  Tolerance ToleranceFor(const TensorSpec& output) const;
  // The distribution an input is drawn from in a trial of distribution `trial` at `sizes`: its
  // own fixed one if it has one, with a range given by expressions evaluated at `sizes`.
  Distribution InputDistribution(const TensorSpec& input, const Distribution& trial,
                                 const Sizes& sizes) const;
};

// `sizes` (from `--sizes`) replaces the bench sizes of a native task (each name one of its
// params) or the integer constants of a PyTorch module (each name one it defines).
// `dtype` (from `--dtype`) casts a PyTorch module to half precision.
Result<Task> LoadTask(const std::filesystem::path& dir, const Sizes& sizes = {},
                      const std::string& dtype = "");

// Task directories under root (any depth), sorted by path.
std::vector<std::filesystem::path> FindTaskDirs(const std::filesystem::path& root);

std::string SizesToString(const Sizes& sizes);

// "NAME=VALUE,NAME=VALUE" (the `--sizes` argument) with positive integer values.
Result<Sizes> ParseSizesArg(const std::string& text);

}  // namespace kf::task
