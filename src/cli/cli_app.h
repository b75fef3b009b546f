// The kforge commands' argument parsing, on CLI11: one app per command, with kforge's
// conventions (help on --help, exit 0; a usage error names the flag and exits 2), validators
// for the numbers a flag takes, and the evaluation flags that eval, optimize and bench share.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/parsed_args.h"
#include "eval/evaluator.h"
#include "task/task.h"

namespace kf::cli {

// An app for `kforge COMMAND` (name: "kforge COMMAND"). An option that takes one value and is
// given twice keeps the last value, as kforge always did.
std::unique_ptr<CLI::App> NewCommandApp(const std::string& name, const std::string& description);

// Parses `args` (the words after the command's name). nullopt: the command runs; otherwise why
// it stops: --help (exit 0, the help as text) or a usage error (exit 2, the message).
std::optional<ParseStop> ParseArgs(CLI::App* app, const std::vector<std::string>& args);

// A usage error found after parsing (a missing TASK, two of a kind): exit 2 with `message`.
ParseStop UsageError(const CLI::App& app, const std::string& message);

// Validators of a flag's value; each refuses with "FLAG: expects ..., got 'VALUE'".
CLI::Validator NonNegativeInteger();         // 0, 1, ... 2^64-1: seeds, counts, budgets
CLI::Validator PositiveInteger();            // 1, 2, ...
CLI::Validator NonNegativeNumber();          // a finite number >= 0: dollars, temperature
CLI::Validator PositiveNumber();             // a finite number > 0: seconds, MiB
CLI::Validator IntegerAtMost(uint64_t max);  // 0 to max: a port, a job count
// A duration as seconds: "90", "90s", "30m", "2h" (a transform: the option's value is seconds).
CLI::Validator Duration();

// The evaluation flags, shared by `kforge eval`, `optimize` and `bench` so that each means the
// same in all three: --run-timeout, --compile-timeout, --timing-seconds, --worker-memory,
// --no-sandbox, --no-seccomp and --ncu, written into `options`, whose values are the defaults
// the help shows. `options` must outlive the app.
void AddEvalOptions(CLI::App* app, eval::EvalOptions* options);

// --seed N: the evaluations' seed (eval, bench; optimize's --seed is the run's own).
void AddEvalSeedOption(CLI::App* app, eval::EvalOptions* options);

// --sizes NAME=VALUE,... and --dtype float16|bfloat16, as eval and import take them.
void AddSizeOptions(CLI::App* app, task::Sizes* sizes, std::string* dtype);

}  // namespace kf::cli
