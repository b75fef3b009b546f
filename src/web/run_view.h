// A read-only view of one run directory (its run.sqlite, docs/dashboard.md), answering the
// queries of the dashboard (kforge serve) and of kforge report as JSON. It opens the store
// read-only, so it works while the run writes to it; each answer is built by an aggregated or
// paginated query (a run of 10,000 candidates is never dumped whole) and cached until the
// store grows. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "util/status.h"

struct sqlite3;

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
  ~RunView();

  const std::filesystem::path& dir() const { return dir_; }

  // Status: task, strategy, state (running | finished | stopped), budgets and what is spent
  // (evaluations, tokens, cost, time), verdict counts, the best candidate's speedup against each
  // baseline, islands.
  nlohmann::json Summary();
  // Best speedup over evaluations and wall time: the steps where the best improved, overall
  // and per island.
  nlohmann::json Progress();
  // The lineage: the `limit` most recent candidates (or those after `after` when it is >= 0),
  // plus every ancestor of the best, with depth, island and verdict; and the migrations.
  nlohmann::json Lineage(int64_t after, int limit);
  // Evolve's MAP-Elites grid per island: the elite (fastest correct) of each occupied cell.
  nlohmann::json Grid();
  // Every correct candidate's arithmetic intensity and achieved rates, and the ceilings.
  nlohmann::json Roofline();
  // A page of candidates (no code), with the total matching count.
  nlohmann::json Candidates(const CandidateQuery& q);
  // One candidate in full: code, the parent's code and a line diff against it, the prompt and
  // reply that produced it, the result (verdict detail, timings, roofline), its children.
  // Error: no candidate with this id.
  Result<nlohmann::json> Candidate(int64_t id);

 private:
  RunView(sqlite3* db, std::filesystem::path dir) : db_(db), dir_(std::move(dir)) {}
  // The store's version: changes whenever a candidate or a migration is added.
  std::string VersionLocked();
  template <typename F>
  nlohmann::json Cached(const std::string& key, F build);
  bool HasTable(const char* name);

  std::mutex mu_;
  sqlite3* db_;
  std::filesystem::path dir_;
  std::map<std::string, std::pair<std::string, nlohmann::json>> cache_;  // key -> {version, body}
};

}  // namespace kf::web
