// A read-only view of one run directory (its run.sqlite, docs/dashboard.md), answering the
// queries of the dashboard (kforge serve) and of kforge report as JSON. The store's queries are
// store/run_reader.h's; this class shapes their records into the views. Each answer is built
// from an in-memory index of the candidates that is synced incrementally (the store is
// append-only; a run of 10,000 candidates is never read whole twice) and cached until the
// store grows. A failed read of the store is returned as the view's error. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/run_reader.h"
#include "util/status.h"

namespace kf::web {

// What a list of candidates asks for (GET /api/runs/R/candidates).
struct CandidateQuery {
  int64_t offset = 0;
  int limit = 50;           // at most 500
  std::string verdict;      // "" for all
  int island = -1;          // -1 for all
  std::string sort = "id";  // id | speedup | time
};

class RunView {
 public:
  // Errors name the cause: not a directory, no run.sqlite (not a run), a store of another
  // schema version, a database that cannot be read.
  static Result<std::unique_ptr<RunView>> Open(const std::filesystem::path& run_dir);

  const std::filesystem::path& dir() const { return dir_; }

  // Status: task, strategy, state (running | finished | stopped), budgets and what is spent
  // (evaluations, tokens, cost, time), verdict counts, the best candidate's speedup against each
  // baseline, islands.
  Result<nlohmann::json> Summary();
  // Best speedup over evaluations and wall time: the steps where the best improved, overall
  // and per island.
  Result<nlohmann::json> Progress();
  // The lineage: the `limit` most recent candidates (or those after `after` when it is >= 0),
  // plus every ancestor of the best, with depth, island and verdict; and the migrations.
  Result<nlohmann::json> Lineage(int64_t after, int limit);
  // Evolve's MAP-Elites grid per island: the elite (fastest correct) of each occupied cell.
  Result<nlohmann::json> Grid();
  // Every correct candidate's arithmetic intensity and achieved rates, and the ceilings.
  Result<nlohmann::json> Roofline();
  // A page of candidates (no code), with the total matching count.
  Result<nlohmann::json> Candidates(const CandidateQuery& q);
  // One candidate in full: code, the parent's code and a line diff against it, the prompt and
  // reply that produced it, the result (verdict detail, timings, roofline), its children.
  // Null when the run has no candidate with this id.
  Result<nlohmann::json> Candidate(int64_t id);

 private:
  using Row = store::CandidateRow;

  RunView(std::unique_ptr<store::RunReader> reader, std::filesystem::path dir)
      : reader_(std::move(reader)), dir_(std::move(dir)) {}
  // Reads what was appended since the last call; returns the store's version (it changes
  // whenever a candidate, a migration, a model call or the run's state changes).
  Result<std::string> SyncLocked();
  template <typename F>
  Result<nlohmann::json> Cached(const std::string& key, F build);
  Result<nlohmann::json> SummaryLocked();
  nlohmann::json GridLocked() const;
  const Row* BestLocked() const;
  // The final comparison's winner once there is one, else BestLocked().
  const Row* WinnerLocked();
  static bool BeatsLocked(const Row& r, const Row* best);
  const Row* FindLocked(int64_t id) const;

  std::mutex mu_;
  std::unique_ptr<store::RunReader> reader_;
  std::filesystem::path dir_;
  nlohmann::json options_ = nlohmann::json::object();
  std::vector<std::string> features_;  // evolve's feature metrics, in the axes' order
  store::RunCursor cursor_;
  std::vector<Row> rows_;  // in id order
  std::vector<store::MigrationRow> migrations_;
  store::CallTotals llm_;  // every call so far (cache hits included)
  double peak_gflops_ = 0, peak_gbps_ = 0;
  std::map<std::string, std::pair<std::string, nlohmann::json>> cache_;  // key -> {version, body}
};

}  // namespace kf::web
