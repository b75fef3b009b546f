#include "store/run_store.h"

#include <ctime>

#include "store/candidate_rows.h"
#include "store/db.h"
#include "store/schema.h"

namespace kf::store {
namespace {

nlohmann::json ObjectOrEmpty(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

}  // namespace

const char* const kSelectCandidate =
    "SELECT id, parent_id, origin, strategy, round, island, code_hash, verdict, speedup, "
    "time_ms, llm_call, eval_seconds, code, feedback, result, params, at FROM candidates ";

Candidate ReadCandidate(Stmt& q) {
  Candidate c;
  c.id = q.Int(0);
  c.parent_id = q.Int(1);
  c.origin = q.Text(2);
  c.strategy = q.Text(3);
  c.round = static_cast<int>(q.Int(4));
  c.island = static_cast<int>(q.Int(5));
  c.code_hash = q.Text(6);
  c.verdict = q.Text(7);
  c.speedup = q.Double(8);
  c.time_ms = q.Double(9);
  c.llm_call = q.Int(10);
  c.eval_seconds = q.Double(11);
  c.code = q.Text(12);
  c.feedback = q.Text(13);
  c.result = ObjectOrEmpty(q.Text(14));
  c.params = ObjectOrEmpty(q.Text(15));
  c.at = q.Double(16);
  return c;
}

namespace {

// The first row of a query of kSelectCandidate, if any.
Result<std::optional<Candidate>> ReadOne(Stmt& q) {
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Candidate>();
  return std::optional<Candidate>(ReadCandidate(q));
}

}  // namespace

RunStore::RunStore(std::unique_ptr<Db> db, std::filesystem::path path)
    : db_(std::move(db)), path_(std::move(path)) {}

RunStore::~RunStore() = default;

Result<std::unique_ptr<RunStore>> RunStore::Open(const std::filesystem::path& run_dir) {
  const auto path = run_dir / "run.sqlite";
  auto db = OpenForWriting(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<RunStore>(new RunStore(std::move(*db), path));
}

Status RunStore::SetMeta(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  Status st = q.Bind(1, key).Bind(2, value).Run();
  if (!st.ok()) return Status::Error("recording the run's " + key + ": " + st.message());
  return st;
}

Result<std::optional<std::string>> RunStore::GetMeta(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, "SELECT value FROM meta WHERE key = ?");
  auto row = q.Bind(1, key).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q.Text(0));
}

Result<int64_t> RunStore::Add(const Candidate& c) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "INSERT INTO candidates (at, parent_id, origin, strategy, round, island, code, code_hash, "
         "verdict, speedup, time_ms, feedback, result, params, llm_call, eval_seconds) VALUES "
         "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  q.Bind(1, static_cast<double>(std::time(nullptr)))
      .Bind(2, c.parent_id)
      .Bind(3, c.origin)
      .Bind(4, c.strategy)
      .Bind(5, c.round)
      .Bind(6, c.island)
      .Bind(7, c.code)
      .Bind(8, c.code_hash)
      .Bind(9, c.verdict)
      .Bind(10, c.speedup)
      .Bind(11, c.time_ms)
      .Bind(12, c.feedback)
      .Bind(13, c.result.dump())
      .Bind(14, c.params.dump())
      .Bind(15, c.llm_call)
      .Bind(16, c.eval_seconds);
  Status st = q.Run();
  if (!st.ok()) return Status::Error("recording a candidate: " + st.message());
  return db_->LastInsertId();
}

Result<std::optional<Candidate>> RunStore::Get(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, std::string(kSelectCandidate) + "WHERE id = ?");
  q.Bind(1, id);
  return ReadOne(q);
}

Result<std::optional<Candidate>> RunStore::FindByHash(const std::string& code_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, std::string(kSelectCandidate) + "WHERE code_hash = ? ORDER BY id LIMIT 1");
  q.Bind(1, code_hash);
  return ReadOne(q);
}

Result<std::optional<Candidate>> RunStore::Best() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         std::string(kSelectCandidate) + "WHERE verdict = 'ok' ORDER BY speedup DESC, id LIMIT 1");
  return ReadOne(q);
}

Result<std::vector<Candidate>> RunStore::Fastest(int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, std::string(kSelectCandidate) +
                   "WHERE verdict = 'ok' AND time_ms > 0 ORDER BY time_ms, id LIMIT ?");
  q.Bind(1, limit);
  std::vector<Candidate> out;
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadCandidate(q));
  }
}

Result<VerdictCounts> RunStore::Counts() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, "SELECT verdict, COUNT(*) FROM candidates GROUP BY verdict");
  VerdictCounts v;
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    v.by_verdict[q.Text(0)] = q.Int(1);
    v.total += q.Int(1);
  }
  return v;
}

Result<int64_t> RunStore::Size() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_, "SELECT COUNT(*) FROM candidates");
  auto row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? q.Int(0) : int64_t{0};
}

Status RunStore::AddMigration(int64_t step, int64_t candidate, int from, int to) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "INSERT OR IGNORE INTO migrations (step, candidate_id, from_island, to_island) "
         "VALUES (?, ?, ?, ?)");
  Status st = q.Bind(1, step).Bind(2, candidate).Bind(3, from).Bind(4, to).Run();
  if (!st.ok()) return Status::Error("recording a migration: " + st.message());
  return st;
}

}  // namespace kf::store
