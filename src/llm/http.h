// HTTP(S) requests for the model APIs, through libcurl: bodies streamed to a callback as they
// arrive, four deadlines (connect, first byte, idle between bytes, total), and every transport
// failure mapped to a typed Error. Thread-safe: each call has its own handle.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "llm/types.h"

namespace kf::llm {

struct Timeouts {
  double connect_s = 10;
  double first_byte_s = 180;  // reasoning models think before the first token
  double idle_s = 120;        // no byte for this long mid-reply
  double total_s = 900;
};

struct HttpRequest {
  std::string method = "POST";  // POST or GET
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  Timeouts timeouts;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  // The body of a response that did not go to the streaming callback (any non-2xx status, or
  // every response when no callback was given), at most 1 MiB.
  std::string body;
  double first_byte_s = 0;  // request start to first response byte
  double seconds = 0;       // request start to end
};

// Receives the body of a 2xx response as it arrives; return false to stop the transfer.
using BodySink = std::function<bool(std::string_view)>;

// A transport failure is an Error (kDns, kConnect, kTls, kTimeout, kCutOff, kCancelled); an HTTP
// error status is a response, for the caller to interpret with ErrorFromStatus.
std::variant<HttpResponse, Error> HttpSend(const HttpRequest& request,
                                           const BodySink& on_body = {});

// The typed error for a non-2xx response: 401/403 -> kAuth (naming key_env), 429 -> kRateLimited
// with Retry-After, 5xx and 529 -> kServer, context-length complaints -> kContextLength, other
// 4xx -> kBadRequest. `message` is the API's own error message when its body has one.
Error ErrorFromStatus(const HttpResponse& response, const std::string& url,
                      const std::string& key_env);

// Retry-After as seconds: delta-seconds or an HTTP date; -1 when absent or unreadable.
double ParseRetryAfter(const std::map<std::string, std::string>& headers);

// The message inside an API error body ({"error": {"message": ...}} and its variants), else the
// body's first 300 characters.
std::string ApiErrorMessage(const std::string& body);

}  // namespace kf::llm
