#include "store/call_store.h"

#include <ctime>

#include "store/db.h"
#include "store/schema.h"

namespace kf::store {
namespace {

void BindOptional(Stmt& q, int i, const std::optional<std::string>& v) {
  if (v) {
    q.Bind(i, *v);
  } else {
    q.BindNull(i);
  }
}

}  // namespace

CallStore::CallStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

CallStore::~CallStore() = default;

Result<std::unique_ptr<CallStore>> CallStore::Open(const std::filesystem::path& path) {
  auto db = OpenForWriting(path);
  if (!db.ok()) return Status::Error("cannot open the LLM log: " + db.status().message());
  return std::unique_ptr<CallStore>(new CallStore(std::move(*db)));
}

Result<std::optional<CachedReply>> CallStore::Lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "SELECT reply, model, finish_reason, prompt_tokens, completion_tokens, "
         "tokens_estimated, provider FROM llm_calls WHERE request_key = ? AND error_kind IS NULL "
         "AND cached = 0 ORDER BY id LIMIT 1");
  auto row = q.Bind(1, key).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<CachedReply>();
  CachedReply r;
  r.text = q.Text(0);
  r.model = q.Text(1);
  r.finish_reason = q.Text(2);
  r.prompt_tokens = q.Int(3);
  r.completion_tokens = q.Int(4);
  r.tokens_estimated = q.Int(5) != 0;
  r.provider = q.Text(6);
  return std::optional<CachedReply>(std::move(r));
}

Result<int64_t> CallStore::Record(const CallRecord& c) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "INSERT INTO llm_calls (at, request_key, provider, model, request, reply, finish_reason, "
         "prompt_tokens, completion_tokens, tokens_estimated, latency_s, first_token_s, attempts, "
         "cost_usd, cached, error_kind, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  q.Bind(1, static_cast<double>(std::time(nullptr)))
      .Bind(2, c.request_key)
      .Bind(3, c.provider)
      .Bind(4, c.model)
      .Bind(5, c.request);
  BindOptional(q, 6, c.reply);
  BindOptional(q, 7, c.finish_reason);
  q.Bind(8, c.prompt_tokens)
      .Bind(9, c.completion_tokens)
      .Bind(10, c.tokens_estimated ? 1 : 0)
      .Bind(11, c.latency_s)
      .Bind(12, c.first_token_s)
      .Bind(13, c.attempts)
      .Bind(14, c.cost_usd)
      .Bind(15, c.cached ? 1 : 0);
  BindOptional(q, 16, c.error_kind);
  BindOptional(q, 17, c.error);
  Status st = q.Run();
  if (!st.ok()) return Status::Error("recording a model call: " + st.message());
  return db_->LastInsertId();
}

Result<CallTotals> CallStore::Sum() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "SELECT COUNT(*), COUNT(error_kind), COALESCE(SUM(cached), 0), "
         "COALESCE(SUM(CASE WHEN cached = 0 THEN prompt_tokens END), 0), "
         "COALESCE(SUM(CASE WHEN cached = 0 THEN completion_tokens END), 0), "
         "COALESCE(SUM(cost_usd), 0) FROM llm_calls");
  auto row = q.Step();
  if (!row.ok()) return row.status();
  CallTotals t;
  if (*row) {
    t.calls = q.Int(0);
    t.errors = q.Int(1);
    t.cached = q.Int(2);
    t.prompt_tokens = q.Int(3);
    t.completion_tokens = q.Int(4);
    t.cost_usd = q.Double(5);
  }
  return t;
}

}  // namespace kf::store
