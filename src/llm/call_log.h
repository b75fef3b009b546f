// Every request and reply in SQLite, with tokens, latency and cost, and the response cache that
// reads the same table: a request already answered (same provider, model, messages and
// parameters) is answered again from here without paying. Keys are never recorded: only the
// spec text (which names the key's variable) and the request's content. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "llm/provider.h"
#include "llm/types.h"
#include "util/status.h"

struct sqlite3;

namespace kf::llm {

// The cache key: a hash of the provider's identity (kind, base URL, model, command, directory)
// and the request's canonical JSON.
std::string RequestKey(const ProviderSpec& spec, const Request& request);

class CallLog {
 public:
  // Opens (creating if needed) the database at `path`; its table lives beside any others.
  static Result<std::unique_ptr<CallLog>> Open(const std::filesystem::path& path);
  ~CallLog();

  // The first successful reply recorded for `key` (not itself a cache hit).
  std::optional<Reply> Lookup(const std::string& key);
  // Returns the row's id (0 if it could not be written).
  int64_t Record(const std::string& key, const ProviderSpec& spec, const Request& request,
                 const Completion& completion);

  // Tokens and cost count paid calls only; cache hits are counted in `cached`.
  struct Totals {
    int64_t calls = 0, errors = 0, cached = 0;
    int64_t prompt_tokens = 0, completion_tokens = 0;
    double cost_usd = 0;
  };
  Totals Sum();

 private:
  explicit CallLog(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace kf::llm
