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
#include <optional>
#include <string>
#include <vector>

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
  // What the views need of one candidate. Candidates and migrations are only ever appended to
  // a store, so these are read once, incrementally (Sync), and every view is computed from
  // memory: no query reads the whole table's code and results again.
  struct Row {
    int64_t id = 0, parent = 0;
    int island = 0, round = 0;
    std::string verdict, origin;
    double speedup = 0, time_ms = 0, at = 0, eval_seconds = 0;
    std::optional<double> speedup_ci_low;  // absent in results stored before it was recorded
    bool has_roofline = false;
    double flops = 0, bytes = 0, gflops = 0, gbps = 0, fraction = 0;
    std::vector<double> features;  // evolve's feature metrics, in the axes' order
    std::string params;            // tune's parameter values as JSON; empty when none
  };
  struct Migration {
    int64_t step, candidate, from, to;
  };

  RunView(sqlite3* db, std::filesystem::path dir) : db_(db), dir_(std::move(dir)) {}
  // Reads what was appended since the last call; returns the store's version (it changes
  // whenever a candidate, a migration, a model call or the run's state changes).
  std::string SyncLocked();
  template <typename F>
  nlohmann::json Cached(const std::string& key, F build);
  bool HasTable(const char* name);
  const Row* BestLocked() const;
  static bool BeatsLocked(const Row& r, const Row* best);
  const Row* FindLocked(int64_t id) const;

  std::mutex mu_;
  sqlite3* db_;
  std::filesystem::path dir_;
  nlohmann::json options_ = nlohmann::json::object();
  bool has_llm_calls_ = false, has_migrations_ = false;
  std::vector<Row> rows_;  // in id order
  std::vector<Migration> migrations_;
  int64_t migrations_rowid_ = 0, llm_id_ = 0;
  int64_t llm_calls_ = 0, llm_errors_ = 0, prompt_tokens_ = 0, completion_tokens_ = 0;
  double cost_usd_ = 0, peak_gflops_ = 0, peak_gbps_ = 0;
  std::vector<std::string> feature_sql_;  // SQL for each evolve feature metric
  std::map<std::string, std::pair<std::string, nlohmann::json>> cache_;  // key -> {version, body}
};

}  // namespace kf::web
