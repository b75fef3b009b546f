#include "llm/call_log.h"

#include "util/sha256.h"

namespace kf::llm {

std::string RequestKey(const ProviderSpec& spec, const Request& request) {
  nlohmann::json id = {{"kind", spec.kind},   {"base_url", spec.base_url},
                       {"model", spec.model}, {"command", spec.command},
                       {"dir", spec.dir},     {"request", request.ToJson()}};
  return Sha256Hex(id.dump());
}

Result<std::unique_ptr<CallLog>> CallLog::Open(const std::filesystem::path& path) {
  auto store = store::CallStore::Open(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<CallLog>(new CallLog(std::move(*store)));
}

Result<std::optional<Reply>> CallLog::Lookup(const std::string& key) {
  auto hit = store_->Lookup(key);
  if (!hit.ok()) return hit.status();
  if (!*hit) return std::optional<Reply>();
  const store::CachedReply& h = **hit;
  Reply r;
  r.text = h.text;
  r.model = h.model;
  r.finish_reason = h.finish_reason;
  r.usage.prompt_tokens = h.prompt_tokens;
  r.usage.completion_tokens = h.completion_tokens;
  r.usage.estimated = h.tokens_estimated;
  r.provider = h.provider;
  r.cached = true;
  return std::optional<Reply>(std::move(r));
}

Result<int64_t> CallLog::Record(const std::string& key, const ProviderSpec& spec,
                                const Request& request, const Completion& c) {
  const Reply& r = c.reply;
  store::CallRecord rec;
  rec.request_key = key;
  rec.provider = spec.Name();
  rec.model = r.model.empty() ? spec.model : r.model;
  rec.request = request.ToJson().dump();
  if (c.ok()) {
    rec.reply = r.text;
    rec.finish_reason = r.finish_reason;
  } else {
    rec.error_kind = std::string(KindName(c.error->kind));
    rec.error = c.error->message;
  }
  rec.prompt_tokens = r.usage.prompt_tokens;
  rec.completion_tokens = r.usage.completion_tokens;
  rec.tokens_estimated = r.usage.estimated;
  rec.latency_s = r.latency_s;
  rec.first_token_s = r.first_token_s;
  rec.attempts = r.attempts;
  rec.cost_usd = r.cost_usd;
  rec.cached = r.cached;
  return store_->Record(rec);
}

Result<CallLog::Totals> CallLog::Sum() { return store_->Sum(); }

}  // namespace kf::llm
