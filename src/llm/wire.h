// The wire formats of the two HTTP APIs: request bodies and streamed-reply decoders, apart from
// the transport so that unit tests can check them byte for byte.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "llm/provider.h"
#include "llm/sse.h"
#include "llm/types.h"

namespace kf::llm {

// OpenAI's reasoning models (o1, o3, o4, gpt-5 families) take max_completion_tokens and
// reasoning_effort, and reject temperature.
bool IsReasoningModel(const std::string& model);

// Chat completions body, streaming with usage. OpenAI itself gets max_completion_tokens (its
// current name); compatible servers get max_tokens unless the model reasons.
nlohmann::json OpenAiBody(const ProviderSpec& spec, const Request& request);

// Messages API body: system messages lifted to `system`, thinking for reasoning_effort.
nlohmann::json AnthropicBody(const ProviderSpec& spec, const Request& request);

// A reply being assembled from stream events.
struct StreamState {
  Reply reply;
  bool complete = false;  // the API's end marker ([DONE], message_stop) or a finish reason
  std::optional<Error> error;
};

void OpenAiEvent(const SseEvent& event, StreamState& state, const TextSink& sink);
void AnthropicEvent(const SseEvent& event, StreamState& state, const TextSink& sink);

// A 200 response whose body is one JSON object instead of a stream (servers that ignore
// "stream": true): decoded into state.
void OpenAiWholeBody(const std::string& body, StreamState& state, const TextSink& sink);

// The outcome once the transfer ended: an error from the stream, a cut-off stream, an empty
// reply, or the reply.
Completion FinishStream(StreamState& state, const std::string& host);

// A decoder of one API's stream events, and what a 200 reply without any event means to it.
using EventDecoder = void (*)(const SseEvent&, StreamState&, const TextSink&);
using WholeBodyDecoder = void (*)(const std::string& body, StreamState&, const TextSink&);

// Sends a streaming request and decodes its reply: transport errors and HTTP statuses as typed
// errors (naming spec.api_key_env for 401/403), events through `decode`, text to `sink` as it
// arrives, latency and time to first text measured.
Completion StreamCompletion(const HttpRequest& http, const ProviderSpec& spec,
                            const TextSink& sink, EventDecoder decode, WholeBodyDecoder whole);

// GET a {"data": [{"id": ...}, ...]} model list (both APIs use this shape).
ModelList FetchModelList(const HttpRequest& http, const std::string& key_env);

}  // namespace kf::llm
