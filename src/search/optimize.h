// `kforge optimize`: one task, a strategy, a budget; every candidate judged by the evaluator and
// recorded in the run's store as it happens; the best kernel and a report at the end. A run
// resumes from its store: the strategy replays from the start, LLM requests are answered from
// the run's call log and candidates already judged are not judged again, so nothing is lost,
// repeated or paid twice.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "search/judge.h"
#include "util/status.h"

namespace kf::search {

struct OptimizeOptions {
  std::filesystem::path task_dir;
  std::string strategy = "agent";  // a name from Strategies() (search/strategy.h)
  std::vector<std::string> llm_specs;
  std::filesystem::path config_file;
  int64_t budget_evals = 20;   // candidates judged, the initial program included
  double budget_cost_usd = 0;  // 0: the config's llm.budget.usd, else none
  double budget_time_s = 0;    // 0: none
  uint64_t seed = 1;
  std::filesystem::path run_dir;
  bool resume = false;
  int attempts_per_round = 5;  // agent: attempts before continuing from the best so far
  int samples_per_round = 0;   // swarm: requests per round (0: one per configured model)
  // After an LLM strategy stops on its own (or on its evaluation budget), tune the best
  // program's declared parameters with this many more evaluations (0: do not).
  int64_t tune_after = 0;
  // At the end, this many of the fastest candidates are timed again together with the
  // baselines (search/final_comparison.h); 0: no final comparison.
  int final_candidates = 3;
  // The language of the run's programs: c, cpp, cuda, cuda-kernel or modelnew; empty: the
  // starting program's, or for a PyTorch task without one c on a CPU, cuda on a GPU.
  std::string language;
  std::filesystem::path start_program;  // tune (and others): start here, not the initial program
  std::filesystem::path prompts_dir;    // override the built-in prompt templates
  nlohmann::json evolve = nlohmann::json::object();  // the optimize.evolve config section
  eval::EvalOptions eval;
  // Judge one candidate at a time among the processes that share this lock file (a suite's
  // runs on one device); empty: no lock.
  std::filesystem::path eval_lock;
  bool progress_tty = false;  // a live status line instead of plain lines
  // Set (by a signal handler) to stop cleanly after the current step; may be null.
  std::atomic<bool>* interrupt = nullptr;
};

// Runs (or resumes) a run; prints progress on stderr and the summary on stdout. The report is
// written to RUN_DIR/report.md and report.json, the best program to RUN_DIR/best.EXT.
// Every program is judged by an EvaluatorJudge with options.eval.
Result<nlohmann::json> RunOptimize(OptimizeOptions options);
// The same with the judge `make_judge` returns for the run's task (tests give a fake).
Result<nlohmann::json> RunOptimize(OptimizeOptions options, const JudgeFactory& make_judge);

// Reads the optimize settings of a config file (the `optimize:` section), flags applied after.
Status ApplyOptimizeConfig(const std::filesystem::path& config_file, OptimizeOptions* options);

}  // namespace kf::search
