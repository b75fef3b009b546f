// The read-only queries of a run store, for the views of a run (kforge serve's dashboard and
// kforge report, web/run_view.h). The store is opened read-only, so it can be read while a run
// writes it; candidates, migrations and model calls are only ever appended, so a reader keeps a
// cursor and asks for what was added since. Every answer is a typed record; every failure a
// Status. Not thread-safe: one owner (RunView) serialises its calls.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/call_store.h"
#include "store/run_store.h"
#include "util/status.h"

namespace kf::store {

class Db;

// What the views need of one candidate: no code, result fields already picked out.
struct CandidateRow {
  int64_t id = 0, parent = 0;
  int island = 0, round = 0;
  std::string verdict, origin;
  double speedup = 0, time_ms = 0, at = 0, eval_seconds = 0;
  std::optional<double> speedup_ci_low;  // absent in results stored before it was recorded
  bool has_roofline = false;             // an ok candidate whose result has a roofline
  double flops = 0, bytes = 0, gflops = 0, gbps = 0, fraction = 0;
  std::optional<double> peak_gflops, peak_gbps;  // the machine's roofs, when recorded
  std::vector<double> features;                  // the metrics asked for, in their order
  std::string params;                            // tune's parameter values as JSON; "" if none
};

struct MigrationRow {
  int64_t step = 0, candidate = 0, from = 0, to = 0;
};

// Where the previous read stopped.
struct RunCursor {
  int64_t candidate = 0;  // the last candidate id read
  int64_t migration = 0;  // the last migrations rowid read
  int64_t llm_call = 0;   // the last llm_calls id read
};

// What was appended after a cursor, read at one point of the run.
struct RunDelta {
  std::vector<CandidateRow> candidates;  // in id order
  std::vector<MigrationRow> migrations;  // in the order recorded
  // The new model calls: every call counted, errors those with an error kind, tokens and cost
  // summed over all of them (cache hits included). `cached` is not filled.
  CallTotals llm;
  std::string time_used_s;  // meta's value, "" when not recorded yet
  RunCursor cursor;         // where the next read starts
};

// A model call as the candidate page shows it.
struct CallDetail {
  std::string provider, model;
  std::string request;  // JSON
  std::string reply, finish_reason;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double latency_s = 0, cost_usd = 0;
  bool cached = false;
  std::string error_kind, error;
};

// A candidate as a suite counts it: which model's reply produced it (the spec as written; ""
// for the starting program and tune's variants), its verdict and time.
struct AttemptRow {
  int64_t id = 0;
  std::string origin, verdict, model;
  double speedup = 0, time_ms = 0;
};

// What one model cost a run: calls paid for (answers from the run's log not counted again).
struct ModelSpend {
  std::string model;
  int64_t calls = 0, errors = 0, prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};

class RunReader {
 public:
  // Opens RUN_DIR/run.sqlite read-only. Errors name the cause: not a directory, no run.sqlite
  // (not a run), not a database, a store of another schema version, missing tables.
  static Result<std::unique_ptr<RunReader>> Open(const std::filesystem::path& run_dir);
  ~RunReader();

  Result<std::optional<std::string>> Meta(const std::string& key);
  // Everything appended after `from`, in one read transaction. `features`: metrics to compute
  // for each candidate: "code_size", "speedup", or a dotted path into its result
  // ("roofline.fraction", "baselines.0.speedup"; 0 where absent).
  Result<RunDelta> ReadSince(const RunCursor& from, const std::vector<std::string>& features);
  // One candidate in full.
  Result<std::optional<Candidate>> GetCandidate(int64_t id);
  // One model call; none in a store without a call log.
  Result<std::optional<CallDetail>> GetCall(int64_t id);
  // Every candidate in id order, with the model whose reply produced it.
  Result<std::vector<AttemptRow>> Attempts();
  // The model calls by model, in the order each model was first asked.
  Result<std::vector<ModelSpend>> SpendByModel();
  // The run's final comparison (store/run_store.h), in order; empty before it was made and in
  // stores written before version 2.
  Result<std::vector<FinalRow>> FinalComparison();

 private:
  explicit RunReader(std::unique_ptr<Db> db);
  Status ReadCandidates(const RunCursor& from, const std::vector<std::string>& features,
                        RunDelta* out);
  Status ReadMigrations(const RunCursor& from, RunDelta* out);
  Status ReadCalls(const RunCursor& from, RunDelta* out);

  std::unique_ptr<Db> db_;
  bool has_migrations_ = false;  // stores from before evolve lack the table
  bool has_llm_calls_ = false;   // and those of runs without a model, the call log
  bool has_final_ = false;       // and those from before version 2, the final comparison
};

}  // namespace kf::store
