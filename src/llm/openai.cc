// OpenAI's chat completions API and every server that speaks it, streaming.
#include <memory>

#include "llm/http.h"
#include "llm/provider.h"
#include "llm/sse.h"
#include "llm/wire.h"
#include "util/subprocess.h"

namespace kf::llm {

using json = nlohmann::json;

bool IsReasoningModel(const std::string& model) {
  // "openai/o3-mini" on OpenRouter: look at the last path component.
  const std::string m =
      model.substr(model.rfind('/') == std::string::npos ? 0 : model.rfind('/') + 1);
  for (const char* p : {"o1", "o3", "o4", "gpt-5"}) {
    if (m.rfind(p, 0) == 0) return true;
  }
  return false;
}

json OpenAiBody(const ProviderSpec& spec, const Request& request) {
  json msgs = json::array();
  for (const auto& m : request.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  json body = {{"model", spec.model},
               {"messages", msgs},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  const bool reasoning = IsReasoningModel(spec.model) || !request.reasoning_effort.empty();
  body[spec.kind == "openai" || reasoning ? "max_completion_tokens" : "max_tokens"] =
      request.max_tokens;
  if (!request.reasoning_effort.empty()) body["reasoning_effort"] = request.reasoning_effort;
  if (request.temperature && !IsReasoningModel(spec.model))
    body["temperature"] = *request.temperature;
  return body;
}

namespace {

void ReadUsage(const json& u, Usage& usage) {
  if (!u.is_object()) return;
  usage.prompt_tokens = u.value("prompt_tokens", usage.prompt_tokens);
  usage.completion_tokens = u.value("completion_tokens", usage.completion_tokens);
}

void ReadChoice(const json& choice, const char* field, StreamState& state, const TextSink& sink) {
  if (!choice.is_object()) return;
  if (choice.contains(field) && choice[field].is_object()) {
    const auto& d = choice[field];
    if (d.contains("content") && d["content"].is_string()) {
      const std::string text = d["content"].get<std::string>();
      state.reply.text += text;
      if (sink && !text.empty()) sink(text);
    }
  }
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
    state.reply.finish_reason = choice["finish_reason"].get<std::string>();
  }
}

}  // namespace

void OpenAiEvent(const SseEvent& event, StreamState& state, const TextSink& sink) {
  if (state.error) return;
  if (event.data == "[DONE]") {
    state.complete = true;
    return;
  }
  json j = json::parse(event.data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    state.error =
        Error{Error::Kind::kMalformed,
              "the stream carried an event that is not a JSON object: " + event.data.substr(0, 200),
              200, -1};
    return;
  }
  if (j.contains("error")) {  // some servers report failures inside a 200 stream
    state.error =
        Error{Error::Kind::kServer,
              "the server reported an error mid-stream: " + ApiErrorMessage(event.data), 200, -1};
    return;
  }
  if (j.contains("model") && j["model"].is_string())
    state.reply.model = j["model"].get<std::string>();
  if (j.contains("usage")) ReadUsage(j["usage"], state.reply.usage);
  if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
    ReadChoice(j["choices"][0], "delta", state, sink);
  }
}

void OpenAiWholeBody(const std::string& body, StreamState& state, const TextSink& sink) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("choices") || !j["choices"].is_array()) {
    state.error =
        Error{Error::Kind::kMalformed,
              "the reply is neither an event stream nor a chat completion: " + body.substr(0, 200),
              200, -1};
    return;
  }
  if (j.contains("model") && j["model"].is_string())
    state.reply.model = j["model"].get<std::string>();
  if (j.contains("usage")) ReadUsage(j["usage"], state.reply.usage);
  if (!j["choices"].empty()) ReadChoice(j["choices"][0], "message", state, sink);
  state.complete = true;
}

Completion FinishStream(StreamState& state, const std::string& host) {
  Completion c;
  if (state.error) {
    c.error = state.error;
    return c;
  }
  if (!state.complete && state.reply.finish_reason.empty()) {
    return Completion::Fail(Error::Kind::kCutOff,
                            host + " ended the stream before the reply was complete (" +
                                std::to_string(state.reply.text.size()) + " characters received)");
  }
  if (state.reply.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    std::string why = host + " sent a complete reply with no text";
    if (state.reply.finish_reason == "length" || state.reply.finish_reason == "max_tokens") {
      why +=
          " (stopped at the token limit: a reasoning model may have spent it thinking; "
          "raise max_tokens)";
    } else if (!state.reply.finish_reason.empty()) {
      why += " (finish reason " + state.reply.finish_reason + ")";
    }
    return Completion::Fail(Error::Kind::kEmpty, why);
  }
  c.reply = state.reply;
  return c;
}

namespace {

class OpenAiProvider : public Provider {
 public:
  explicit OpenAiProvider(ProviderSpec spec) : Provider(std::move(spec)) {}

  Completion Complete(const Request& request, const TextSink& sink) override {
    const std::string key = ApiKey(spec_);
    if (key.empty() && spec_.kind == "openai") {
      return Completion::Fail(Error::Kind::kAuth, spec_.api_key_env + " is not set");
    }
    HttpRequest http;
    http.url = spec_.base_url + "/chat/completions";
    http.headers = {"Content-Type: application/json", "Accept: text/event-stream"};
    if (!key.empty()) http.headers.push_back("Authorization: Bearer " + key);
    http.body = OpenAiBody(spec_, request).dump();
    http.timeouts = spec_.timeouts;

    return StreamCompletion(http, spec_, sink, OpenAiEvent, OpenAiWholeBody);
  }

  ModelList ListModels() override {
    HttpRequest http;
    http.method = "GET";
    http.url = spec_.base_url + "/models";
    const std::string key = ApiKey(spec_);
    if (!key.empty()) http.headers.push_back("Authorization: Bearer " + key);
    http.timeouts = spec_.timeouts;
    http.timeouts.total_s = std::min(http.timeouts.total_s, 60.0);
    return FetchModelList(http, spec_.api_key_env);
  }

  static ModelList FetchModelList(const HttpRequest& http, const std::string& key_env) {
    ModelList list;
    auto sent = HttpSend(http);
    if (auto* err = std::get_if<Error>(&sent)) {
      list.error = *err;
      return list;
    }
    auto& response = std::get<HttpResponse>(sent);
    if (response.status < 200 || response.status >= 300) {
      list.error = ErrorFromStatus(response, http.url, key_env);
      return list;
    }
    json j = json::parse(response.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_array()) {
      list.error = Error{Error::Kind::kMalformed,
                         "the model list is not {\"data\": [...]}: " + response.body.substr(0, 200),
                         response.status, -1};
      return list;
    }
    for (const auto& m : j["data"]) {
      if (m.is_object() && m.contains("id") && m["id"].is_string()) {
        list.ids.push_back(m["id"].get<std::string>());
      }
    }
    return list;
  }
};

}  // namespace

std::unique_ptr<Provider> MakeOpenAiProvider(const ProviderSpec& spec) {
  return std::make_unique<OpenAiProvider>(spec);
}

// Shared with the Anthropic provider: GET a {"data": [{"id": ...}]} list.
ModelList FetchModelList(const HttpRequest& http, const std::string& key_env) {
  return OpenAiProvider::FetchModelList(http, key_env);
}

}  // namespace kf::llm
