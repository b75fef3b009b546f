#include "store/run_reader.h"

#include <algorithm>

#include "store/candidate_rows.h"
#include "store/db.h"
#include "store/schema.h"

namespace kf::store {
namespace fs = std::filesystem;
namespace {

// "roofline.fraction" -> "$.roofline.fraction"; "baselines.0.speedup" -> "$.baselines[0].speedup".
std::string JsonPath(const std::string& dotted) {
  std::string out = "$";
  size_t at = 0;
  while (at <= dotted.size()) {
    size_t dot = dotted.find('.', at);
    if (dot == std::string::npos) dot = dotted.size();
    const std::string part = dotted.substr(at, dot - at);
    const bool index = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    out += index ? "[" + part + "]" : "." + part;
    at = dot + 1;
  }
  return out;
}

// The SQL expression of a feature metric (search/evolve.cc's Metric, on the stored columns).
std::string MetricSql(const std::string& metric) {
  if (metric == "code_size") return "length(code)";
  if (metric == "speedup") return "coalesce(speedup, 0)";
  std::string quoted;
  for (char c : JsonPath(metric)) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "coalesce(json_extract(result, '" + quoted + "'), 0)";
}

std::optional<double> OptionalDouble(Stmt& q, int col) {
  return q.IsNull(col) ? std::nullopt : std::optional<double>(q.Double(col));
}

// The columns of a CandidateRow, before the feature metrics.
constexpr const char* kRowColumns =
    "SELECT id, coalesce(parent_id, 0), coalesce(island, 0), coalesce(round, 0), verdict, "
    "origin, coalesce(speedup, 0), coalesce(time_ms, 0), at, coalesce(eval_seconds, 0), "
    "json_extract(result, '$.roofline.flops'), json_extract(result, '$.roofline.bytes'), "
    "json_extract(result, '$.roofline.achieved_gflops'), "
    "json_extract(result, '$.roofline.achieved_gbps'), "
    "json_extract(result, '$.roofline.fraction'), json_extract(result, '$.roofline.peak_gflops'), "
    "json_extract(result, '$.roofline.peak_gbps'), "
    "nullif(nullif(coalesce(params, ''), '{}'), 'null'), json_extract(result, '$.speedup_ci[0]')";
constexpr int kFirstFeature = 19;

CandidateRow ReadRow(Stmt& q, size_t features) {
  CandidateRow r;
  r.id = q.Int(0);
  r.parent = q.Int(1);
  r.island = static_cast<int>(q.Int(2));
  r.round = static_cast<int>(q.Int(3));
  r.verdict = q.Text(4);
  r.origin = q.Text(5);
  r.speedup = q.Double(6);
  r.time_ms = q.Double(7);
  r.at = q.Double(8);
  r.eval_seconds = q.Double(9);
  r.has_roofline = r.verdict == "ok" && !q.IsNull(10);
  r.flops = q.Double(10);
  r.bytes = q.Double(11);
  r.gflops = q.Double(12);
  r.gbps = q.Double(13);
  r.fraction = q.Double(14);
  r.peak_gflops = OptionalDouble(q, 15);
  r.peak_gbps = OptionalDouble(q, 16);
  if (!q.IsNull(17)) r.params = q.Text(17);
  r.speedup_ci_low = OptionalDouble(q, 18);
  for (size_t k = 0; k < features; ++k) {
    r.features.push_back(q.Double(kFirstFeature + static_cast<int>(k)));
  }
  return r;
}

}  // namespace

RunReader::RunReader(std::unique_ptr<Db> db) : db_(std::move(db)) {}

RunReader::~RunReader() = default;

Result<std::unique_ptr<RunReader>> RunReader::Open(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) {
    return Status::Error(run_dir.string() + " is not a directory");
  }
  const fs::path path = run_dir / "run.sqlite";
  if (!fs::is_regular_file(path, ec)) {
    return Status::Error(run_dir.string() +
                         " is not a kforge run: it has no run.sqlite (kforge optimize --out DIR "
                         "writes one)");
  }
  auto db = Db::Open(path, Db::Mode::kReadOnly, 5000);
  if (!db.ok()) return db.status();
  std::unique_ptr<RunReader> reader(new RunReader(std::move(*db)));
  Db& d = *reader->db_;
  auto has_meta = d.HasTable("meta");
  if (!has_meta.ok()) return has_meta.status();
  if (!*has_meta)
    return Status::Error(path.string() + " is not a kforge run store (no meta table)");
  auto version = ReadableVersion(d);
  if (!version.ok()) return version.status();
  if (*version == 0) {
    // A store from before user_version: meta.schema_version says what it is.
    auto legacy = reader->Meta("schema_version");
    if (!legacy.ok()) return legacy.status();
    if (!*legacy) {
      return Status::Error(path.string() +
                           " has schema version (none); this kforge reads version " +
                           std::to_string(kSchemaVersion));
    }
  }
  auto has_candidates = d.HasTable("candidates");
  auto has_migrations = d.HasTable("migrations");
  auto has_llm_calls = d.HasTable("llm_calls");
  auto has_final = d.HasTable("final_comparison");
  for (const auto* r : {&has_candidates, &has_migrations, &has_llm_calls, &has_final}) {
    if (!r->ok()) return r->status();
  }
  if (!*has_candidates) {
    return Status::Error(path.string() + " is not a kforge run store (no candidates table)");
  }
  reader->has_migrations_ = *has_migrations;
  reader->has_llm_calls_ = *has_llm_calls;
  reader->has_final_ = *has_final;
  return reader;
}

Result<std::optional<std::string>> RunReader::Meta(const std::string& key) {
  Stmt q(*db_, "SELECT value FROM meta WHERE key = ?");
  auto row = q.Bind(1, key).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q.Text(0));
}

Result<RunDelta> RunReader::ReadSince(const RunCursor& from,
                                      const std::vector<std::string>& features) {
  // One read transaction, so every table is seen at the same point of the run.
  auto tx = Transaction::Begin(*db_, Transaction::Kind::kRead);
  if (!tx.ok()) return tx.status();
  RunDelta delta;
  delta.cursor = from;
  auto time_used = Meta("time_used_s");
  if (!time_used.ok()) return time_used.status();
  delta.time_used_s = time_used->value_or("");
  Status st = ReadCandidates(from, features, &delta);
  if (st.ok()) st = ReadMigrations(from, &delta);
  if (st.ok()) st = ReadCalls(from, &delta);
  if (st.ok()) st = (*tx)->Commit();
  if (!st.ok()) return st;
  return delta;
}

Status RunReader::ReadCandidates(const RunCursor& from, const std::vector<std::string>& features,
                                 RunDelta* out) {
  std::string sql = kRowColumns;
  for (const auto& f : features) sql += ", " + MetricSql(f);
  sql += " FROM candidates WHERE id > ? ORDER BY id";
  Stmt q(*db_, sql);
  q.Bind(1, from.candidate);
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    out->candidates.push_back(ReadRow(q, features.size()));
    out->cursor.candidate = out->candidates.back().id;
  }
}

Status RunReader::ReadMigrations(const RunCursor& from, RunDelta* out) {
  if (!has_migrations_) return Status::Ok();
  Stmt q(*db_,
         "SELECT rowid, step, candidate_id, from_island, to_island FROM migrations WHERE "
         "rowid > ? ORDER BY rowid");
  q.Bind(1, from.migration);
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    out->cursor.migration = q.Int(0);
    out->migrations.push_back({q.Int(1), q.Int(2), q.Int(3), q.Int(4)});
  }
}

Status RunReader::ReadCalls(const RunCursor& from, RunDelta* out) {
  if (!has_llm_calls_) return Status::Ok();
  Stmt q(*db_,
         "SELECT coalesce(max(id), 0), count(*), coalesce(sum(error_kind IS NOT NULL AND "
         "error_kind != ''), 0), coalesce(sum(prompt_tokens), 0), "
         "coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0) FROM llm_calls "
         "WHERE id > ?");
  auto row = q.Bind(1, from.llm_call).Step();
  if (!row.ok()) return row.status();
  if (*row && q.Int(1) > 0) {
    out->cursor.llm_call = q.Int(0);
    out->llm.calls = q.Int(1);
    out->llm.errors = q.Int(2);
    out->llm.prompt_tokens = q.Int(3);
    out->llm.completion_tokens = q.Int(4);
    out->llm.cost_usd = q.Double(5);
  }
  return Status::Ok();
}

Result<std::optional<Candidate>> RunReader::GetCandidate(int64_t id) {
  Stmt q(*db_, std::string(kSelectCandidate) + "WHERE id = ?");
  auto row = q.Bind(1, id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Candidate>();
  return std::optional<Candidate>(ReadCandidate(q));
}

Result<std::optional<CallDetail>> RunReader::GetCall(int64_t id) {
  if (!has_llm_calls_) return std::optional<CallDetail>();
  Stmt q(*db_,
         "SELECT provider, model, request, reply, finish_reason, prompt_tokens, "
         "completion_tokens, latency_s, cost_usd, cached, error_kind, error FROM llm_calls "
         "WHERE id = ?");
  auto row = q.Bind(1, id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<CallDetail>();
  CallDetail c;
  c.provider = q.Text(0);
  c.model = q.Text(1);
  c.request = q.Text(2);
  c.reply = q.Text(3);
  c.finish_reason = q.Text(4);
  c.prompt_tokens = q.Int(5);
  c.completion_tokens = q.Int(6);
  c.latency_s = q.Double(7);
  c.cost_usd = q.Double(8);
  c.cached = q.Int(9) != 0;
  c.error_kind = q.Text(10);
  c.error = q.Text(11);
  return std::optional<CallDetail>(std::move(c));
}

Result<std::vector<AttemptRow>> RunReader::Attempts() {
  const std::string sql =
      has_llm_calls_
          ? "SELECT c.id, c.origin, c.verdict, coalesce(l.provider, ''), coalesce(c.speedup, 0), "
            "coalesce(c.time_ms, 0) FROM candidates c LEFT JOIN llm_calls l ON l.id = c.llm_call "
            "ORDER BY c.id"
          : "SELECT id, origin, verdict, '', coalesce(speedup, 0), coalesce(time_ms, 0) FROM "
            "candidates ORDER BY id";
  Stmt q(*db_, sql);
  std::vector<AttemptRow> out;
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Double(4), q.Double(5)});
  }
}

Result<std::vector<ModelSpend>> RunReader::SpendByModel() {
  std::vector<ModelSpend> out;
  if (!has_llm_calls_) return out;
  Stmt q(*db_,
         "SELECT provider, count(*), coalesce(sum(error_kind IS NOT NULL AND error_kind != ''), "
         "0), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
         "coalesce(sum(cost_usd), 0) FROM llm_calls WHERE cached = 0 GROUP BY provider "
         "ORDER BY min(id)");
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({q.Text(0), q.Int(1), q.Int(2), q.Int(3), q.Int(4), q.Double(5)});
  }
}

Result<std::vector<FinalRow>> RunReader::FinalComparison() {
  if (!has_final_) return std::vector<FinalRow>();
  return ReadFinalRows(*db_);
}

}  // namespace kf::store
