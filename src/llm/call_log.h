// Every request and reply recorded with tokens, latency and cost, and the response cache that
// reads the same records: a request already answered (same provider, model, messages and
// parameters) is answered again from here without paying. The records live in the store's
// llm_calls table (store/call_store.h); this turns the providers' types into them. Keys are
// never recorded: only the spec text (which names the key's variable) and the request's
// content. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "llm/provider.h"
#include "llm/types.h"
#include "store/call_store.h"
#include "util/status.h"

namespace kf::llm {

// The cache key: a hash of the provider's identity (kind, base URL, model, command, directory)
// and the request's canonical JSON.
std::string RequestKey(const ProviderSpec& spec, const Request& request);

class CallLog {
 public:
  // Opens (creating if needed) the database at `path`: a run's store or the shared log.
  static Result<std::unique_ptr<CallLog>> Open(const std::filesystem::path& path);

  // The first successful reply recorded for `key` (not itself a cache hit).
  Result<std::optional<Reply>> Lookup(const std::string& key);
  // Records a finished call; returns the row's id.
  [[nodiscard]] Result<int64_t> Record(const std::string& key, const ProviderSpec& spec,
                                       const Request& request, const Completion& completion);

  // Tokens and cost count paid calls only; cache hits are counted in `cached`.
  using Totals = store::CallTotals;
  Result<Totals> Sum();

 private:
  explicit CallLog(std::unique_ptr<store::CallStore> store) : store_(std::move(store)) {}
  std::unique_ptr<store::CallStore> store_;
};

}  // namespace kf::llm
