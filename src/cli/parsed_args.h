// What the arguments of `kforge eval`, `optimize` and `bench` parse to, apart from running the
// command (so the parsing is testable on its own: parsed_args_test.cc). cli_app.h has the parser.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "eval/evaluator.h"
#include "search/optimize.h"
#include "search/suite.h"
#include "task/task.h"

namespace kf::cli {

// Why a command stops before it runs: --help was given (exit 0; `text` is the help, for stdout)
// or its arguments are wrong (exit 2; `text` is the message, for stderr).
struct ParseStop {
  int exit_code = 0;
  std::string text;
};

// Prints a stop's text where it belongs and returns its exit status.
int Finish(const ParseStop& stop);

// The parsed arguments, or why the command stops.
template <typename T>
using Parsed = std::variant<T, ParseStop>;

// `kforge eval TASK CANDIDATE [CANDIDATE...] [options]`.
struct EvalArgs {
  std::string task;
  std::vector<std::string> candidates;
  eval::EvalOptions options;
  bool json = false;
  int compile_jobs = 1;      // later candidates compiled ahead, this many at a time (0: none)
  std::vector<int> devices;  // CUDA: one evaluator per GPU ordinal; empty: every visible GPU
  task::Sizes sizes;
  std::string dtype;
};
Parsed<EvalArgs> ParseEvalArgs(const std::vector<std::string>& args);

// `kforge optimize TASK [options]` or `kforge optimize --resume RUN_DIR`: the run's options,
// the task resolved, the config file's settings applied under the flags given (a flag on the
// command line beats the file; the file beats a default), the run directory chosen.
Parsed<search::OptimizeOptions> ParseOptimizeArgs(const std::vector<std::string>& args);

// `kforge optimize` as a whole: one run, or a suite (several problems: directories of tasks or
// problem files, LIST files). For a suite, `suite` holds the problems listed, the flags each run
// gets (those given, less the suite's own) and the suite's directory.
struct OptimizeArgs {
  search::OptimizeOptions run;
  std::vector<std::string> tasks;    // the TASK words as given
  int jobs = 0;                      // --jobs
  std::vector<std::string> devices;  // --devices
  std::optional<search::SuiteOptions> suite;
};
Parsed<OptimizeArgs> ParseOptimizeCommandArgs(const std::vector<std::string>& args);

// `kforge bench PROBLEMS_DIR --candidates DIR [options]` or `kforge bench --from-run RUN_DIR...`.
struct BenchArgs {
  std::string problems_dir;  // empty with --from-run
  std::string candidates_dir;
  std::vector<std::string> runs;  // --from-run
  std::string out_dir = "kforge-bench";
  eval::EvalOptions options;
};
Parsed<BenchArgs> ParseBenchArgs(const std::vector<std::string>& args);

}  // namespace kf::cli
