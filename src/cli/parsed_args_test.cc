// The command lines of eval, optimize and bench: numbers validated, help generated, the shared
// evaluation flags alike in all three, and a config file under the flags given.
#include "cli/parsed_args.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/temp_dir_test.h"

namespace kf::cli {
namespace {

using Args = std::vector<std::string>;

template <typename T>
ParseStop StopOf(const Parsed<T>& parsed) {
  const auto* stop = std::get_if<ParseStop>(&parsed);
  EXPECT_NE(stop, nullptr) << "parsed, but a stop was expected";
  return stop ? *stop : ParseStop{-1, ""};
}

template <typename T>
T ValueOf(const Parsed<T>& parsed) {
  const auto* stop = std::get_if<ParseStop>(&parsed);
  EXPECT_EQ(stop, nullptr) << (stop ? stop->text : "");
  return stop ? T{} : std::get<T>(parsed);
}

// A usage error (exit 2) whose message names `flag` and the value given.
void ExpectRefused(const ParseStop& stop, const std::string& flag, const std::string& value) {
  EXPECT_EQ(stop.exit_code, 2) << stop.text;
  EXPECT_NE(stop.text.find(flag), std::string::npos) << stop.text;
  EXPECT_NE(stop.text.find("'" + value + "'"), std::string::npos) << stop.text;
}

TEST(ParsedArgsTest, NegativeSeedIsRefusedNotWrappedAround) {
  ExpectRefused(StopOf(ParseEvalArgs({"softmax_rows", "c.c", "--seed", "-1"})), "--seed", "-1");
  ExpectRefused(StopOf(ParseBenchArgs({"dir", "--candidates", "c", "--seed", "-1"})), "--seed",
                "-1");
  ExpectRefused(StopOf(ParseOptimizeArgs({"softmax_rows", "--seed", "-1"})), "--seed", "-1");
}

TEST(ParsedArgsTest, NonNumericValuesAreRefused) {
  ExpectRefused(StopOf(ParseBenchArgs({"dir", "--candidates", "c", "--seed", "abc"})), "--seed",
                "abc");
  ExpectRefused(StopOf(ParseEvalArgs({"softmax_rows", "c.c", "--seed", "12x"})), "--seed", "12x");
  ExpectRefused(StopOf(ParseEvalArgs({"softmax_rows", "c.c", "--timing-seconds", "fast"})),
                "--timing-seconds", "fast");
  ExpectRefused(StopOf(ParseOptimizeArgs({"softmax_rows", "--budget-evals", "ten"})),
                "--budget-evals", "ten");
  ExpectRefused(StopOf(ParseOptimizeArgs({"softmax_rows", "--budget-evals", "-5"})),
                "--budget-evals", "-5");
  ExpectRefused(StopOf(ParseOptimizeArgs({"softmax_rows", "--budget-cost", "-1"})), "--budget-cost",
                "-1");
  ExpectRefused(StopOf(ParseOptimizeArgs({"softmax_rows", "--budget-time", "soon"})),
                "--budget-time", "soon");
  ExpectRefused(StopOf(ParseOptimizeArgs({"softmax_rows", "--run-timeout", "0"})), "--run-timeout",
                "0");
  ExpectRefused(StopOf(ParseBenchArgs({"dir", "--candidates", "c", "--timing-seconds", "-2"})),
                "--timing-seconds", "-2");
}

TEST(ParsedArgsTest, UnknownOptionAndMissingArgumentsAreUsageErrors) {
  const ParseStop unknown = StopOf(ParseEvalArgs({"softmax_rows", "c.c", "--frobnicate"}));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.text.find("unknown option '--frobnicate'"), std::string::npos) << unknown.text;
  EXPECT_EQ(StopOf(ParseEvalArgs({"softmax_rows"})).exit_code, 2);
  EXPECT_EQ(StopOf(ParseOptimizeArgs({})).exit_code, 2);
  EXPECT_EQ(StopOf(ParseBenchArgs({"dir"})).exit_code, 2);  // no --candidates
}

TEST(ParsedArgsTest, HelpListsEveryEvaluationFlagInEachCommand) {
  for (const auto& [command, stop] : {std::pair{"eval", StopOf(ParseEvalArgs({"--help"}))},
                                      std::pair{"optimize", StopOf(ParseOptimizeArgs({"--help"}))},
                                      std::pair{"bench", StopOf(ParseBenchArgs({"--help"}))}}) {
    EXPECT_EQ(stop.exit_code, 0) << command;
    for (const char* flag : {"--no-seccomp", "--no-sandbox", "--run-timeout", "--compile-timeout",
                             "--timing-seconds", "--worker-memory", "--ncu", "--seed"}) {
      EXPECT_NE(stop.text.find(flag), std::string::npos) << command << " lacks " << flag;
    }
  }
  const ParseStop eval_help = StopOf(ParseEvalArgs({"-h"}));
  for (const char* flag : {"--json", "--compile-jobs", "--devices", "--sizes", "--dtype"}) {
    EXPECT_NE(eval_help.text.find(flag), std::string::npos) << flag;
  }
}

TEST(ParsedArgsTest, AnEvaluationFlagMeansTheSameInEvalOptimizeAndBench) {
  const Args flags = {"--timing-seconds",  "0.25",        "--run-timeout",   "7",
                      "--compile-timeout", "30",          "--worker-memory", "512",
                      "--no-sandbox",      "--no-seccomp"};
  Args eval_args = {"softmax_rows", "c.c"}, optimize_args = {"softmax_rows"},
       bench_args = {"dir", "--candidates", "c"};
  for (Args* args : {&eval_args, &optimize_args, &bench_args}) {
    args->insert(args->end(), flags.begin(), flags.end());
  }
  const eval::EvalOptions from[] = {ValueOf(ParseEvalArgs(eval_args)).options,
                                    ValueOf(ParseOptimizeArgs(optimize_args)).eval,
                                    ValueOf(ParseBenchArgs(bench_args)).options};
  for (const eval::EvalOptions& o : from) {
    EXPECT_EQ(o.timing_seconds, 0.25);
    EXPECT_EQ(o.run_timeout_s, 7);
    EXPECT_EQ(o.compile_timeout_s, 30);
    EXPECT_EQ(o.worker_memory_bytes, 512ull << 20);
    EXPECT_FALSE(o.sandbox);
    EXPECT_FALSE(o.seccomp);
    EXPECT_FALSE(o.seed.has_value());
  }
}

TEST(ParsedArgsTest, EvalTakesOptionsBetweenAndAfterItsPositionals) {
  const EvalArgs a =
      ValueOf(ParseEvalArgs({"--json", "softmax_rows", "--seed", "42", "a.c", "b.c", "--sizes",
                             "rows=8,cols=16", "--compile-jobs", "0", "--devices", "0,1"}));
  EXPECT_EQ(a.task, "softmax_rows");
  EXPECT_EQ(a.candidates, (std::vector<std::string>{"a.c", "b.c"}));
  EXPECT_TRUE(a.json);
  EXPECT_EQ(a.options.seed, 42u);
  EXPECT_EQ(a.sizes.at("rows"), 8);
  EXPECT_EQ(a.compile_jobs, 0);
  EXPECT_EQ(a.devices, (std::vector<int>{0, 1}));
  EXPECT_EQ(ValueOf(ParseEvalArgs({"t", "c.c", "--seed", "18446744073709551615"})).options.seed,
            18446744073709551615ull);
  ExpectRefused(StopOf(ParseEvalArgs({"t", "c.c", "--seed", "18446744073709551616"})), "--seed",
                "18446744073709551616");
  ExpectRefused(StopOf(ParseEvalArgs({"t", "c.c", "--devices", "0,,1"})), "--devices", "0,,1");
}

TEST(ParsedArgsTest, BenchFromRunTakesSeveralRuns) {
  const BenchArgs a = ValueOf(ParseBenchArgs({"--from-run", "r1", "r2", "--seed", "3"}));
  EXPECT_EQ(a.runs, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(a.options.seed, 3u);
  EXPECT_EQ(a.out_dir, "kforge-bench");
}

class OptimizeArgsTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "config.yaml").string();
    std::ofstream(config_) << "optimize:\n  strategy: tune\n  budget_evals: 7\n  seed: 9\n"
                              "  attempts_per_round: 3\n  tune_after: 4\n";
  }
  search::OptimizeOptions Parse(Args args) {
    args.insert(args.end(),
                {"softmax_rows", "--config", config_, "--out", (dir_ / "run").string()});
    return ValueOf(ParseOptimizeArgs(args));
  }
  std::string config_;
};

TEST_F(OptimizeArgsTest, ConfigBeatsDefaults) {
  const search::OptimizeOptions o = Parse({});
  EXPECT_EQ(o.strategy, "tune");
  EXPECT_EQ(o.budget_evals, 7);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.attempts_per_round, 3);
  EXPECT_EQ(o.tune_after, 4);
  EXPECT_EQ(o.budget_cost_usd, -1);  // neither given: the run's default
  EXPECT_EQ(o.config_file, config_);
}

TEST_F(OptimizeArgsTest, FlagsGivenBeatConfig) {
  // --seed 1 is the default's value, given on the command line: it still beats the file.
  const search::OptimizeOptions o =
      Parse({"--strategy", "agent", "--budget-evals", "5", "--seed", "1", "--attempts", "2",
             "--tune-after", "0", "--budget-time", "30m"});
  EXPECT_EQ(o.strategy, "agent");
  EXPECT_EQ(o.budget_evals, 5);
  EXPECT_EQ(o.seed, 1u);
  EXPECT_EQ(o.attempts_per_round, 2);
  EXPECT_EQ(o.tune_after, 0);
  EXPECT_EQ(o.budget_time_s, 1800);
}

TEST_F(OptimizeArgsTest, RunFlagsWithoutConfig) {
  const search::OptimizeOptions o =
      ValueOf(ParseOptimizeArgs({"softmax_rows", "--budget-evals", "2", "--tune-after", "3",
                                 "--out", (dir_ / "run").string()}));
  EXPECT_EQ(o.budget_evals, 2);
  EXPECT_EQ(o.tune_after, 3);
  EXPECT_EQ(o.seed, 1u);
  EXPECT_EQ(o.budget_time_s, -1);  // not given: the run's default
}

TEST_F(OptimizeArgsTest, RepeatedLlmFlagsAroundTheTask) {
  const search::OptimizeOptions o =
      ValueOf(ParseOptimizeArgs({"--llm", "command:sh model.sh --fast", "softmax_rows", "--llm",
                                 "exchange:dir", "--out", (dir_ / "run").string()}));
  EXPECT_EQ(o.llm_specs, (std::vector<std::string>{"command:sh model.sh --fast", "exchange:dir"}));
  EXPECT_EQ(o.task_dir.filename(), "softmax_rows");
}

TEST_F(OptimizeArgsTest, ResumeNeedsARunAndNoTask) {
  EXPECT_EQ(StopOf(ParseOptimizeArgs({"--resume", dir_.string()})).exit_code, 2);  // no store
  EXPECT_EQ(StopOf(ParseOptimizeArgs({"softmax_rows", "--resume", dir_.string()})).exit_code, 2);
}

}  // namespace
}  // namespace kf::cli
