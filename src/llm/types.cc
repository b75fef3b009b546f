#include "llm/types.h"

namespace kf::llm {

nlohmann::json Request::ToJson() const {
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json j = {{"messages", msgs}, {"max_tokens", max_tokens}, {"sample", sample}};
  if (temperature) j["temperature"] = *temperature;
  if (!reasoning_effort.empty()) j["reasoning_effort"] = reasoning_effort;
  return j;
}

bool Error::retryable() const {
  switch (kind) {
    case Kind::kConnect:
    case Kind::kTimeout:
    case Kind::kRateLimited:
    case Kind::kServer:
    case Kind::kMalformed:
    case Kind::kCutOff:
      return true;
    default:
      return false;
  }
}

std::string_view KindName(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::kConnect:
      return "connect";
    case Error::Kind::kDns:
      return "dns";
    case Error::Kind::kTls:
      return "tls";
    case Error::Kind::kTimeout:
      return "timeout";
    case Error::Kind::kRateLimited:
      return "rate_limited";
    case Error::Kind::kServer:
      return "server_error";
    case Error::Kind::kAuth:
      return "auth";
    case Error::Kind::kContextLength:
      return "context_length";
    case Error::Kind::kBadRequest:
      return "bad_request";
    case Error::Kind::kMalformed:
      return "malformed_reply";
    case Error::Kind::kCutOff:
      return "cut_off";
    case Error::Kind::kEmpty:
      return "empty_reply";
    case Error::Kind::kNoCode:
      return "no_code";
    case Error::Kind::kCommandFailed:
      return "command_failed";
    case Error::Kind::kBudget:
      return "budget_spent";
    case Error::Kind::kCancelled:
      return "cancelled";
    case Error::Kind::kConfig:
      return "config";
  }
  return "?";
}

}  // namespace kf::llm
