#include "store/schema.h"

#include <iterator>
#include <string_view>

namespace kf::store {
namespace {

// Version 1's tables. `meta`: the run's settings (options, time_used_s, schema_version).
// `candidates`: every judged program of a run. `migrations`: evolve's copies of a program from
// island to island. `llm_calls`: every model request and reply, also the response cache.
constexpr std::string_view kTablesV1 = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,              -- unix time it was recorded
  parent_id INTEGER,
  origin TEXT NOT NULL,          -- initial, llm, tune
  strategy TEXT,
  round INTEGER, island INTEGER,
  code TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,
  speedup REAL, time_ms REAL,
  feedback TEXT,
  result TEXT,                   -- EvalResult::ToJson
  params TEXT,                   -- tune's parameter values, JSON
  llm_call INTEGER,              -- the llm_calls row that produced it
  eval_seconds REAL
);
CREATE INDEX IF NOT EXISTS candidates_by_hash ON candidates (code_hash);
CREATE TABLE IF NOT EXISTS migrations (
  step INTEGER, candidate_id INTEGER, from_island INTEGER, to_island INTEGER,
  UNIQUE (step, candidate_id, from_island, to_island)
);
CREATE TABLE IF NOT EXISTS llm_calls (
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,              -- unix time the call ended
  request_key TEXT NOT NULL,
  provider TEXT NOT NULL,        -- the spec as written
  model TEXT,                    -- as the provider reported it
  request TEXT NOT NULL,         -- Request::ToJson
  reply TEXT,
  finish_reason TEXT,
  prompt_tokens INTEGER, completion_tokens INTEGER, tokens_estimated INTEGER,
  latency_s REAL, first_token_s REAL, attempts INTEGER,
  cost_usd REAL NOT NULL DEFAULT 0,
  cached INTEGER NOT NULL DEFAULT 0,
  error_kind TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS llm_calls_by_key ON llm_calls (request_key);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
)sql";

// Version 2: every baseline timing of the run (its history: a timing far from it is measured
// again or flagged, not believed) and the final comparison (the top candidates and the
// baselines timed together at the end of a run; one row per program, replaced when a resumed
// run compares again).
constexpr std::string_view kTablesV2 = R"sql(
CREATE TABLE IF NOT EXISTS baseline_timings (
  id INTEGER PRIMARY KEY,
  candidate_id INTEGER,          -- the evaluation that timed it
  name TEXT NOT NULL,            -- initial program, PyTorch eager, torch.compile, cublas, ...
  median_ms REAL, ci_lo_ms REAL, ci_hi_ms REAL,
  believed INTEGER NOT NULL DEFAULT 1,
  note TEXT
);
CREATE TABLE IF NOT EXISTS final_comparison (
  position INTEGER PRIMARY KEY,
  candidate_id INTEGER,          -- 0 for a baseline
  name TEXT NOT NULL,
  baseline INTEGER NOT NULL DEFAULT 0,
  median_ms REAL, ci_lo_ms REAL, ci_hi_ms REAL, p10_ms REAL, p90_ms REAL, runs INTEGER,
  failure TEXT,
  speedup REAL, speedup_lo REAL, speedup_hi REAL,   -- against the first baseline
  significant INTEGER NOT NULL DEFAULT 0,
  winner INTEGER NOT NULL DEFAULT 0
);
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)sql";

// One step of the schema's history: the SQL that brings a store of version `to - 1` to `to`.
// A later change appends a step (ALTER TABLE ..., UPDATE meta SET value = 'N' WHERE key =
// 'schema_version') and raises kSchemaVersion; the readers learn the new columns at once.
struct Migration {
  int to;
  std::string_view sql;
};

// Version 1: the first tables; a store from before user_version gets those it lacks.
constexpr Migration kMigrations[] = {{1, kTablesV1}, {2, kTablesV2}};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per version");

Status TooNew(Db& db, const std::string& version) {
  return Status::Error(db.path().string() + " has schema version " + version +
                       "; this kforge reads version " + std::to_string(kSchemaVersion));
}

// The store's version, checked against what this kforge knows.
Result<int> StoredVersion(Db& db) {
  auto version = db.UserVersion();
  if (!version.ok()) return version.status();  // not a database at all
  if (*version > kSchemaVersion || *version < 0) return TooNew(db, std::to_string(*version));
  auto has_meta = db.HasTable("meta");
  if (!has_meta.ok()) return has_meta.status();
  if (*has_meta) {
    Stmt q(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    auto row = q.Step();
    if (!row.ok()) return row.status();
    // Before user_version, meta.schema_version alone said the version (always '1').
    const std::string expected = std::to_string(*version > 0 ? *version : 1);
    if (*row && q.Text(0) != expected) return TooNew(db, q.Text(0));
  }
  return *version;
}

Status Migrate(Db& db) {
  auto before = StoredVersion(db);
  if (!before.ok()) return before.status();
  if (*before == kSchemaVersion) return Status::Ok();
  // Another process may be migrating the same store: decide again under the write lock.
  auto tx = Transaction::Begin(db, Transaction::Kind::kWrite);
  if (!tx.ok()) return tx.status();
  auto version = StoredVersion(db);
  if (!version.ok()) return version.status();
  for (const Migration& m : kMigrations) {
    if (m.to <= *version) continue;
    Status st = db.Exec(std::string(m.sql));
    if (st.ok()) st = db.SetUserVersion(m.to);
    if (!st.ok()) {
      return Status::Error("migrating the store to schema version " + std::to_string(m.to) + ": " +
                           st.message());
    }
  }
  return (*tx)->Commit();
}

}  // namespace

Result<std::unique_ptr<Db>> OpenForWriting(const std::filesystem::path& path) {
  auto db = Db::Open(path, Db::Mode::kReadWrite, 10000);
  if (!db.ok()) return db.status();
  // WAL: readers (the dashboard) never wait for the writer, and a killed run loses at most the
  // row being written. A file that cannot take it (read-only, not a database) fails below.
  (void)(*db)->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  Status st = Migrate(**db);
  if (!st.ok()) return st;
  return db;
}

Result<int> ReadableVersion(Db& db) { return StoredVersion(db); }

}  // namespace kf::store
