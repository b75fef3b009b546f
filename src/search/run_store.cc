#include "search/run_store.h"

#include <sqlite3.h>

#include <ctime>

#include "util/sqlite_stmt.h"

namespace kf::search {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,
  parent_id INTEGER,
  origin TEXT NOT NULL,
  strategy TEXT,
  round INTEGER, island INTEGER,
  code TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,
  speedup REAL, time_ms REAL,
  feedback TEXT,
  result TEXT,
  params TEXT,
  llm_call INTEGER,
  eval_seconds REAL
);
CREATE INDEX IF NOT EXISTS candidates_by_hash ON candidates (code_hash);
CREATE TABLE IF NOT EXISTS migrations (
  step INTEGER, candidate_id INTEGER, from_island INTEGER, to_island INTEGER,
  UNIQUE (step, candidate_id, from_island, to_island)
);
)sql";

using Stmt = SqliteStmt;

constexpr const char* kColumns =
    "id, parent_id, origin, strategy, round, island, code_hash, verdict, speedup, time_ms, "
    "llm_call, eval_seconds";

Candidate Read(Stmt& q, bool full) {
  Candidate c;
  c.id = sqlite3_column_int64(q.s, 0);
  c.parent_id = sqlite3_column_int64(q.s, 1);
  c.origin = q.Col(2);
  c.strategy = q.Col(3);
  c.round = sqlite3_column_int(q.s, 4);
  c.island = sqlite3_column_int(q.s, 5);
  c.code_hash = q.Col(6);
  c.verdict = q.Col(7);
  c.speedup = sqlite3_column_double(q.s, 8);
  c.time_ms = sqlite3_column_double(q.s, 9);
  c.llm_call = sqlite3_column_int64(q.s, 10);
  c.eval_seconds = sqlite3_column_double(q.s, 11);
  if (full) {
    c.code = q.Col(12);
    c.feedback = q.Col(13);
    c.result = nlohmann::json::parse(q.Col(14), nullptr, false);
    if (c.result.is_discarded()) c.result = nlohmann::json::object();
    c.params = nlohmann::json::parse(q.Col(15), nullptr, false);
    if (c.params.is_discarded()) c.params = nlohmann::json::object();
  }
  return c;
}

const std::string kFull = std::string(kColumns) + ", code, feedback, result, params";

}  // namespace

Result<std::unique_ptr<RunStore>> RunStore::Open(const std::filesystem::path& run_dir) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  const auto path = run_dir / "run.sqlite";
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error("cannot open the run store " + path.string() + ": " + why);
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::Error(path.string() + " is not a kforge run store: " + why);
  }
  std::unique_ptr<RunStore> store(new RunStore(db, path));
  auto version = store->GetMeta("schema_version");
  if (!version) {
    store->SetMeta("schema_version", std::to_string(kSchemaVersion));
  } else if (*version != std::to_string(kSchemaVersion)) {
    return Status::Error(path.string() + " has schema version " + *version +
                         "; this kforge reads " + std::to_string(kSchemaVersion));
  }
  return store;
}

RunStore::~RunStore() { sqlite3_close(db_); }

void RunStore::SetMeta(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  q.Text(1, key);
  q.Text(2, value);
  sqlite3_step(q.s);
}

std::optional<std::string> RunStore::GetMeta(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT value FROM meta WHERE key = ?");
  q.Text(1, key);
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  return q.Col(0);
}

Result<int64_t> RunStore::Add(const Candidate& c) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "INSERT INTO candidates (at, parent_id, origin, strategy, round, island, code, code_hash, "
         "verdict, speedup, time_ms, feedback, result, params, llm_call, eval_seconds) VALUES "
         "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  sqlite3_bind_double(q.s, 1, static_cast<double>(std::time(nullptr)));
  sqlite3_bind_int64(q.s, 2, c.parent_id);
  q.Text(3, c.origin);
  q.Text(4, c.strategy);
  sqlite3_bind_int(q.s, 5, c.round);
  sqlite3_bind_int(q.s, 6, c.island);
  q.Text(7, c.code);
  q.Text(8, c.code_hash);
  q.Text(9, c.verdict);
  sqlite3_bind_double(q.s, 10, c.speedup);
  sqlite3_bind_double(q.s, 11, c.time_ms);
  q.Text(12, c.feedback);
  q.Text(13, c.result.dump());
  q.Text(14, c.params.dump());
  sqlite3_bind_int64(q.s, 15, c.llm_call);
  sqlite3_bind_double(q.s, 16, c.eval_seconds);
  if (sqlite3_step(q.s) != SQLITE_DONE) {
    return Status::Error(std::string("recording a candidate: ") + sqlite3_errmsg(db_));
  }
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

std::optional<Candidate> RunStore::Get(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, ("SELECT " + kFull + " FROM candidates WHERE id = ?").c_str());
  sqlite3_bind_int64(q.s, 1, id);
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  return Read(q, true);
}

std::optional<Candidate> RunStore::FindByHash(const std::string& code_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         ("SELECT " + kFull + " FROM candidates WHERE code_hash = ? ORDER BY id LIMIT 1").c_str());
  q.Text(1, code_hash);
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  return Read(q, true);
}

std::optional<Candidate> RunStore::Best() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, ("SELECT " + kFull +
               " FROM candidates WHERE verdict = 'ok' ORDER BY speedup DESC, id LIMIT 1")
                  .c_str());
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  return Read(q, true);
}

std::vector<Candidate> RunStore::List(int64_t after_id, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         ("SELECT " + std::string(kColumns) + " FROM candidates WHERE id > ? ORDER BY id LIMIT ?")
             .c_str());
  sqlite3_bind_int64(q.s, 1, after_id);
  sqlite3_bind_int(q.s, 2, limit);
  std::vector<Candidate> out;
  while (sqlite3_step(q.s) == SQLITE_ROW) out.push_back(Read(q, false));
  return out;
}

VerdictCounts RunStore::Counts() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT verdict, COUNT(*) FROM candidates GROUP BY verdict");
  VerdictCounts v;
  while (sqlite3_step(q.s) == SQLITE_ROW) {
    v.by_verdict[q.Col(0)] = sqlite3_column_int64(q.s, 1);
    v.total += sqlite3_column_int64(q.s, 1);
  }
  return v;
}

void RunStore::AddMigration(int64_t step, int64_t candidate, int from, int to) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "INSERT OR IGNORE INTO migrations VALUES (?, ?, ?, ?)");
  sqlite3_bind_int64(q.s, 1, step);
  sqlite3_bind_int64(q.s, 2, candidate);
  sqlite3_bind_int(q.s, 3, from);
  sqlite3_bind_int(q.s, 4, to);
  sqlite3_step(q.s);
}

int64_t RunStore::Size() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT COUNT(*) FROM candidates");
  return sqlite3_step(q.s) == SQLITE_ROW ? sqlite3_column_int64(q.s, 0) : 0;
}

}  // namespace kf::search
