#include "llm/call_log.h"

#include <sqlite3.h>

#include <ctime>

#include "util/sha256.h"
#include "util/sqlite_stmt.h"

namespace kf::llm {

namespace {

constexpr const char* kSchema = R"sql(
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
)sql";

using Stmt = SqliteStmt;

}  // namespace

std::string RequestKey(const ProviderSpec& spec, const Request& request) {
  nlohmann::json id = {{"kind", spec.kind},   {"base_url", spec.base_url},
                       {"model", spec.model}, {"command", spec.command},
                       {"dir", spec.dir},     {"request", request.ToJson()}};
  return Sha256Hex(id.dump());
}

Result<std::unique_ptr<CallLog>> CallLog::Open(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error("cannot open the LLM log " + path.string() + ": " + why);
  }
  sqlite3_busy_timeout(db, 10000);
  char* err = nullptr;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::Error("cannot create the LLM log's table in " + path.string() + ": " + why);
  }
  return std::unique_ptr<CallLog>(new CallLog(db));
}

CallLog::~CallLog() { sqlite3_close(db_); }

std::optional<Reply> CallLog::Lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "SELECT reply, model, finish_reason, prompt_tokens, completion_tokens, "
         "tokens_estimated, provider FROM llm_calls WHERE request_key = ? AND error_kind IS NULL "
         "AND cached = 0 ORDER BY id LIMIT 1");
  q.Text(1, key);
  if (sqlite3_step(q.s) != SQLITE_ROW) return std::nullopt;
  Reply r;
  r.text = q.Col(0);
  r.model = q.Col(1);
  r.finish_reason = q.Col(2);
  r.usage.prompt_tokens = sqlite3_column_int64(q.s, 3);
  r.usage.completion_tokens = sqlite3_column_int64(q.s, 4);
  r.usage.estimated = sqlite3_column_int(q.s, 5) != 0;
  r.provider = q.Col(6);
  r.cached = true;
  return r;
}

int64_t CallLog::Record(const std::string& key, const ProviderSpec& spec, const Request& request,
                        const Completion& c) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "INSERT INTO llm_calls (at, request_key, provider, model, request, reply, finish_reason, "
         "prompt_tokens, completion_tokens, tokens_estimated, latency_s, first_token_s, attempts, "
         "cost_usd, cached, error_kind, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  const Reply& r = c.reply;
  sqlite3_bind_double(q.s, 1, static_cast<double>(std::time(nullptr)));
  q.Text(2, key);
  q.Text(3, spec.Name());
  q.Text(4, r.model.empty() ? spec.model : r.model);
  q.Text(5, request.ToJson().dump());
  if (c.ok()) {
    q.Text(6, r.text);
    q.Text(7, r.finish_reason);
  }
  sqlite3_bind_int64(q.s, 8, r.usage.prompt_tokens);
  sqlite3_bind_int64(q.s, 9, r.usage.completion_tokens);
  sqlite3_bind_int(q.s, 10, r.usage.estimated ? 1 : 0);
  sqlite3_bind_double(q.s, 11, r.latency_s);
  sqlite3_bind_double(q.s, 12, r.first_token_s);
  sqlite3_bind_int(q.s, 13, r.attempts);
  sqlite3_bind_double(q.s, 14, r.cost_usd);
  sqlite3_bind_int(q.s, 15, r.cached ? 1 : 0);
  if (!c.ok()) {
    q.Text(16, std::string(KindName(c.error->kind)));
    q.Text(17, c.error->message);
  }
  if (sqlite3_step(q.s) != SQLITE_DONE) return 0;
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

CallLog::Totals CallLog::Sum() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "SELECT COUNT(*), COUNT(error_kind), COALESCE(SUM(cached), 0), "
         "COALESCE(SUM(CASE WHEN cached = 0 THEN prompt_tokens END), 0), "
         "COALESCE(SUM(CASE WHEN cached = 0 THEN completion_tokens END), 0), "
         "COALESCE(SUM(cost_usd), 0) FROM llm_calls");
  Totals t;
  if (sqlite3_step(q.s) == SQLITE_ROW) {
    t.calls = sqlite3_column_int64(q.s, 0);
    t.errors = sqlite3_column_int64(q.s, 1);
    t.cached = sqlite3_column_int64(q.s, 2);
    t.prompt_tokens = sqlite3_column_int64(q.s, 3);
    t.completion_tokens = sqlite3_column_int64(q.s, 4);
    t.cost_usd = sqlite3_column_double(q.s, 5);
  }
  return t;
}

}  // namespace kf::llm
