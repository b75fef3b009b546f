// What a suite of runs adds up to (`kforge optimize DIR|LIST`, docs/optimize.md): per problem
// the run's winner and its times against each baseline (the initial program, or PyTorch eager
// and torch.compile, and vendor libraries), per model how often it was correct within 1..K
// attempts and how often it made the winner, fast_p and geometric means per baseline (a problem
// without a model's winner counts as 1x), tokens and cost. Read from each run's report.json and
// store, so it can be written again at any time, also while runs are still going.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/run_reader.h"
#include "util/status.h"

namespace kf::search {

// One problem of a suite as it stands.
struct ProblemOutcome {
  std::string name;
  std::string state;    // "finished", "failed", "running", "pending", "interrupted"
  std::string message;  // why it failed: the end of its log
  std::filesystem::path run_dir;
  nlohmann::json report = nlohmann::json::object();  // the run's report.json; {} when none
  std::vector<store::AttemptRow> attempts;           // empty without a store
  std::vector<store::ModelSpend> spend;
};

// Fills `outcome` from its run directory: report.json when written, the store when there is
// one. A run directory without either leaves it as it is; a store that cannot be read is an
// error naming it.
Status ReadOutcome(ProblemOutcome* outcome);

// The suite's summary as JSON (fields in docs/optimize.md); `attempts` is the K of "correct
// within k attempts" (k = 1..K).
nlohmann::json SummarizeSuite(const std::string& name, const std::vector<ProblemOutcome>& problems,
                              int attempts);

// The summary as markdown (the suite's report.md), everything from the JSON escaped.
std::string SuiteMarkdown(const nlohmann::json& summary);

// The p of fast_p, as the summary's keys.
inline const std::vector<std::string>& FastPKeys() {
  static const std::vector<std::string> keys = {"0", "1", "1.5", "2"};
  return keys;
}

}  // namespace kf::search
