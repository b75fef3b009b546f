// The streaming request both HTTP providers make (wire.h: StreamCompletion).
#include <string>

#include "llm/http.h"
#include "llm/wire.h"
#include "util/subprocess.h"

namespace kf::llm {

Completion StreamCompletion(const HttpRequest& http, const ProviderSpec& spec, const TextSink& sink,
                            EventDecoder decode, WholeBodyDecoder whole) {
  StreamState state;
  double first_text = -1;
  const double start = MonotonicSeconds();
  TextSink timed_sink = [&](std::string_view text) {
    if (first_text < 0) first_text = MonotonicSeconds() - start;
    if (sink) sink(text);
  };
  SseParser parser([&](const SseEvent& e) { decode(e, state, timed_sink); });
  std::string head;  // the first bytes, for a reply that is one JSON object instead of events
  auto sent = HttpSend(http, [&](std::string_view bytes) {
    if (head.size() < 65536) head.append(bytes.substr(0, 65536 - head.size()));
    parser.Feed(bytes);
    return !state.error;
  });
  if (auto* err = std::get_if<Error>(&sent)) {
    if (err->kind == Error::Kind::kCancelled && state.error) err = &*state.error;
    Completion c;
    c.error = *err;
    return c;
  }
  auto& response = std::get<HttpResponse>(sent);
  if (response.status < 200 || response.status >= 300) {
    Completion c;
    c.error = ErrorFromStatus(response, http.url, spec.api_key_env);
    return c;
  }
  parser.Finish();
  if (parser.events() == 0 && !state.error) whole(head, state, timed_sink);
  size_t b = http.url.find("://");
  b = b == std::string::npos ? 0 : b + 3;
  Completion c = FinishStream(state, http.url.substr(b, http.url.find('/', b) - b));
  c.reply.latency_s = response.seconds;
  c.reply.first_token_s = first_text < 0 ? response.seconds : first_text;
  if (c.reply.model.empty()) c.reply.model = spec.model;
  return c;
}

}  // namespace kf::llm
