// The LLM call log's table (llm_calls): every model request and reply with tokens, latency and
// cost, and the response cache that reads it. It lives in a run's run.sqlite or in the shared
// $KFORGE_CACHE/llm.sqlite. Plain records: llm/call_log.h turns the providers' types into
// these. Keys are never recorded: only the spec text (which names the key's variable) and the
// request's content. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "util/status.h"

namespace kf::store {

class Db;

// One finished call, as recorded.
struct CallRecord {
  std::string request_key;  // the cache key: provider identity and request, hashed
  std::string provider;     // the spec as written
  std::string model;        // as the provider reported it
  std::string request;      // the request as JSON
  // A failed call has no reply and names its error; a successful one the reverse.
  std::optional<std::string> reply, finish_reason;
  std::optional<std::string> error_kind, error;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool tokens_estimated = false;
  double latency_s = 0, first_token_s = 0;
  int attempts = 0;
  double cost_usd = 0;
  bool cached = false;  // answered from the log, not paid
};

// A reply found in the log for a request key.
struct CachedReply {
  std::string text, model, finish_reason, provider;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool tokens_estimated = false;
};

// Tokens count paid calls only; cache hits are counted in `cached`; cost sums every row.
struct CallTotals {
  int64_t calls = 0, errors = 0, cached = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};

class CallStore {
 public:
  // Opens (creating or migrating if needed) the database at `path`.
  static Result<std::unique_ptr<CallStore>> Open(const std::filesystem::path& path);
  ~CallStore();

  // The first successful reply recorded for `key` that was not itself a cache hit.
  Result<std::optional<CachedReply>> Lookup(const std::string& key);
  // Returns the new row's id.
  [[nodiscard]] Result<int64_t> Record(const CallRecord& call);
  Result<CallTotals> Sum();

 private:
  explicit CallStore(std::unique_ptr<Db> db);
  std::mutex mu_;
  std::unique_ptr<Db> db_;
};

}  // namespace kf::store
