// One optimisation run's store: RUN_DIR/run.sqlite holding every candidate (code, parent,
// origin, verdict, metrics, feedback) as it is judged, the run's settings, evolve's migrations
// and, in the same file, the LLM call log (store/call_store.h). Written per candidate in WAL
// mode, so a run killed at any moment resumes from what is here. Every write and read returns
// its failure. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace kf::store {

class Db;

struct Candidate {
  int64_t id = 0;
  int64_t parent_id = 0;  // 0: none
  std::string origin;     // "initial", "llm", "tune"
  std::string strategy;
  int round = 0;
  int island = 0;
  std::string code;
  std::string code_hash;
  std::string verdict;  // VerdictName, or "no_code", "bad_edit", ... for replies that gave none
  double speedup = 0;   // against the task's initial program; 0 unless ok
  double time_ms = 0;
  std::string feedback;  // what the next prompt tells the model about this candidate
  nlohmann::json result = nlohmann::json::object();  // EvalResult::ToJson, or {} for no code
  nlohmann::json params = nlohmann::json::object();  // tune: the parameter values
  int64_t llm_call = 0;                              // the llm_calls row that produced it
  double eval_seconds = 0;
  double at = 0;  // unix time it was recorded (Add sets it; reads fill it)
};

// One timing of a baseline, from one evaluation; `believed` false when it lay far outside the
// baseline's earlier timings.
struct BaselineTiming {
  int64_t candidate_id = 0;
  std::string name;
  double median_ms = 0, ci_lo_ms = 0, ci_hi_ms = 0;
  bool believed = true;
  std::string note;
};

// One program of the final comparison.
struct FinalRow {
  int64_t candidate_id = 0;  // 0 for a baseline
  std::string name;
  bool baseline = false;
  double median_ms = 0, ci_lo_ms = 0, ci_hi_ms = 0, p10_ms = 0, p90_ms = 0;
  int64_t runs = 0;
  std::string failure;                                 // empty unless it failed
  double speedup = 0, speedup_lo = 0, speedup_hi = 0;  // against the first baseline
  bool significant = false;
  bool winner = false;
};

struct VerdictCounts {
  std::map<std::string, int64_t> by_verdict;
  int64_t total = 0;
};

class RunStore {
 public:
  // Opens or creates RUN_DIR/run.sqlite, migrating a store of an older kforge.
  static Result<std::unique_ptr<RunStore>> Open(const std::filesystem::path& run_dir);
  ~RunStore();

  const std::filesystem::path& db_path() const { return path_; }

  [[nodiscard]] Status SetMeta(const std::string& key, const std::string& value);
  Result<std::optional<std::string>> GetMeta(const std::string& key);

  // Records a judged candidate; returns its id.
  [[nodiscard]] Result<int64_t> Add(const Candidate& c);
  Result<std::optional<Candidate>> Get(int64_t id);
  // A candidate with this code already judged in this run (the first one).
  Result<std::optional<Candidate>> FindByHash(const std::string& code_hash);
  // The fastest `ok` candidate.
  Result<std::optional<Candidate>> Best();
  // The `limit` `ok` candidates with the lowest median times, fastest first.
  Result<std::vector<Candidate>> Fastest(int limit);
  Result<VerdictCounts> Counts();
  Result<int64_t> Size();
  // Evolve: `candidate` copied from island `from` to island `to` at step `step` (recorded once).
  [[nodiscard]] Status AddMigration(int64_t step, int64_t candidate, int from, int to);
  // A baseline's timing, and its history in the order recorded.
  [[nodiscard]] Status AddBaselineTiming(const BaselineTiming& t);
  Result<std::vector<BaselineTiming>> BaselineTimings(const std::string& name);
  // The final comparison, replacing any earlier one; and reading it back (empty: none yet).
  [[nodiscard]] Status SetFinalComparison(const std::vector<FinalRow>& rows);
  Result<std::vector<FinalRow>> FinalComparison();

 private:
  RunStore(std::unique_ptr<Db> db, std::filesystem::path path);
  std::mutex mu_;
  std::unique_ptr<Db> db_;
  std::filesystem::path path_;
};

}  // namespace kf::store
