// A suite: `kforge optimize DIR|LIST ...` runs every problem as its own `kforge optimize` process
// (one run directory per problem under the suite's directory, its output in the run's
// optimize.log), several at once, spread over devices. On each device one candidate is judged
// at a time (the runs share a lock file per device, `--eval-lock`), so timings are never taken
// under another evaluation's load while the other runs wait for their models. A problem that
// cannot be loaded or whose run fails is recorded with the end of its log and the suite goes
// on. Re-running the same command skips finished problems and resumes the others from their
// stores. At the end (and on Ctrl-C) SUITE_DIR/report.json and report.md add the runs up
// (search/suite_summary.h).
#pragma once

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace kf::search {

struct SuiteProblem {
  std::string name;             // unique in the suite: its run directory's name
  std::filesystem::path task;   // a task directory or a PyTorch problem file
  std::filesystem::path start;  // the program to start from; empty: the task's initial one
};

struct SuiteOptions {
  std::string name;  // the suite's name in its report
  std::filesystem::path dir;
  std::vector<SuiteProblem> problems;
  // The flags every problem's `kforge optimize` gets (strategy, models, budgets, evaluation).
  std::vector<std::string> run_args;
  // One entry per device: a CUDA ordinal (the run sees it alone, as CUDA_VISIBLE_DEVICES), or
  // "" for the machine as it is (the CPU, or every GPU).
  std::vector<std::string> devices = {""};
  int jobs = 0;                  // problems in flight; 0: two per device
  int attempts = 5;              // the K of "correct within k attempts"
  std::filesystem::path kforge;  // the binary to run; empty: this process's own
  bool progress_tty = false;
  std::atomic<bool>* interrupt = nullptr;  // set to stop: the runs stop after their step
};

// Runs the suite (or the problems it has left) and writes its report; returns the summary. An
// error means the suite could not run at all (its directory, a suite recorded there with other
// flags); a problem's failure is in the summary.
Result<nlohmann::json> RunSuite(const SuiteOptions& options);

// True when `dir` holds a suite (SUITE_DIR/suite.json).
bool IsSuiteDir(const std::filesystem::path& dir);

// The summary of the suite in `dir` as it stands (its runs read again), for `kforge report`
// and the dashboard. `write`: also write SUITE_DIR/report.json and report.md.
Result<nlohmann::json> ReadSuite(const std::filesystem::path& dir, bool write = false);

}  // namespace kf::search
