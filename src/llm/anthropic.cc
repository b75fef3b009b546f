// Anthropic's Messages API, streaming: its own headers, event names, errors and usage fields.
#include <algorithm>
#include <memory>

#include "llm/http.h"
#include "llm/provider.h"
#include "llm/sse.h"
#include "llm/wire.h"
#include "util/subprocess.h"

namespace kf::llm {

using json = nlohmann::json;

namespace {
constexpr const char* kApiVersion = "2023-06-01";
}

json AnthropicBody(const ProviderSpec& spec, const Request& request) {
  json msgs = json::array();
  std::string system;
  for (const auto& m : request.messages) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.content;
    } else {
      msgs.push_back({{"role", m.role}, {"content", m.content}});
    }
  }
  json body = {{"model", spec.model},
               {"messages", msgs},
               {"max_tokens", request.max_tokens},
               {"stream", true}};
  if (!system.empty()) body["system"] = system;
  // Extended thinking needs a budget of at least 1024 tokens, below max_tokens, and no
  // temperature.
  int budget = 0;
  if (request.reasoning_effort == "low") budget = 1024;
  if (request.reasoning_effort == "medium") budget = 4096;
  if (request.reasoning_effort == "high") budget = 16384;
  budget = std::min(budget, request.max_tokens / 2);
  if (budget >= 1024) {
    body["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
  } else if (request.temperature) {
    body["temperature"] = *request.temperature;
  }
  return body;
}

void AnthropicEvent(const SseEvent& event, StreamState& state, const TextSink& sink) {
  if (state.error) return;
  json j = json::parse(event.data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    state.error =
        Error{Error::Kind::kMalformed,
              "the stream carried an event that is not a JSON object: " + event.data.substr(0, 200),
              200, -1};
    return;
  }
  const std::string type = j.value("type", event.event);
  if (type == "message_start" && j.contains("message") && j["message"].is_object()) {
    const auto& m = j["message"];
    if (m.contains("model") && m["model"].is_string()) state.reply.model = m["model"];
    if (m.contains("usage") && m["usage"].is_object()) {
      const auto& u = m["usage"];
      state.reply.usage.prompt_tokens = u.value("input_tokens", 0) +
                                        u.value("cache_creation_input_tokens", 0) +
                                        u.value("cache_read_input_tokens", 0);
      state.reply.usage.completion_tokens = u.value("output_tokens", 0);
    }
  } else if (type == "content_block_delta" && j.contains("delta") && j["delta"].is_object()) {
    const auto& d = j["delta"];
    if (d.value("type", "") == "text_delta" && d.contains("text") && d["text"].is_string()) {
      const std::string text = d["text"].get<std::string>();
      state.reply.text += text;
      if (sink && !text.empty()) sink(text);
    }
    // thinking_delta and signature_delta are the model's reasoning: not part of the reply.
  } else if (type == "message_delta") {
    if (j.contains("delta") && j["delta"].is_object() && j["delta"].contains("stop_reason") &&
        j["delta"]["stop_reason"].is_string()) {
      state.reply.finish_reason = j["delta"]["stop_reason"].get<std::string>();
    }
    if (j.contains("usage") && j["usage"].is_object()) {
      state.reply.usage.completion_tokens =
          j["usage"].value("output_tokens", state.reply.usage.completion_tokens);
    }
  } else if (type == "message_stop") {
    state.complete = true;
  } else if (type == "error") {
    const json e = j.contains("error") && j["error"].is_object() ? j["error"] : json::object();
    const std::string etype = e.value("type", "");
    const std::string message = "the stream reported " + etype + ": " + e.value("message", "");
    Error::Kind kind = Error::Kind::kServer;  // overloaded_error, api_error
    if (etype == "rate_limit_error") kind = Error::Kind::kRateLimited;
    if (etype == "authentication_error" || etype == "permission_error") kind = Error::Kind::kAuth;
    if (etype == "invalid_request_error") kind = Error::Kind::kBadRequest;
    state.error = Error{kind, message, 200, -1};
  }
  // ping, content_block_start and content_block_stop carry nothing kforge needs.
}

namespace {

// A 200 reply without events is not a Messages API stream.
void NoEvents(const std::string&, StreamState& state, const TextSink&) {
  state.error = Error{Error::Kind::kMalformed, "a 200 reply with no events in it", 200, -1};
}

class AnthropicProvider : public Provider {
 public:
  explicit AnthropicProvider(ProviderSpec spec) : Provider(std::move(spec)) {}

  std::vector<std::string> Headers(const std::string& key) const {
    return {"Content-Type: application/json", "Accept: text/event-stream", "x-api-key: " + key,
            std::string("anthropic-version: ") + kApiVersion};
  }

  Completion Complete(const Request& request, const TextSink& sink) override {
    const std::string key = ApiKey(spec_);
    if (key.empty()) return Completion::Fail(Error::Kind::kAuth, spec_.api_key_env + " is not set");
    HttpRequest http;
    http.url = spec_.base_url + "/v1/messages";
    http.headers = Headers(key);
    http.body = AnthropicBody(spec_, request).dump();
    http.timeouts = spec_.timeouts;

    return StreamCompletion(http, spec_, sink, AnthropicEvent, NoEvents);
  }

  ModelList ListModels() override {
    const std::string key = ApiKey(spec_);
    ModelList list;
    if (key.empty()) {
      list.error = Error{Error::Kind::kAuth, spec_.api_key_env + " is not set", 0, -1};
      return list;
    }
    HttpRequest http;
    http.method = "GET";
    http.url = spec_.base_url + "/v1/models";
    http.headers = Headers(key);
    http.timeouts = spec_.timeouts;
    http.timeouts.total_s = std::min(http.timeouts.total_s, 60.0);
    return FetchModelList(http, spec_.api_key_env);
  }
};

}  // namespace

std::unique_ptr<Provider> MakeAnthropicProvider(const ProviderSpec& spec) {
  return std::make_unique<AnthropicProvider>(spec);
}

}  // namespace kf::llm
