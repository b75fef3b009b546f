// What kforge sends to a model and what comes back: requests, replies, usage, and typed errors.
// Every way a request can fail ends as an Error with a Kind the caller can act on (retry, shrink
// the prompt, fix the key, move on); nothing here throws.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kf::llm {

struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct Request {
  std::vector<Message> messages;
  int max_tokens = 4096;
  std::optional<double> temperature;  // unset: the provider's default (reasoning models: none)
  std::string reasoning_effort;       // "", "low", "medium" or "high"
  // Distinguishes deliberate repeats of one prompt (several samples in a swarm round): part of
  // the cache key, so sample 1 is not answered from sample 0's reply.
  int sample = 0;

  // The request's content as canonical JSON: what the cache key and the store record.
  nlohmann::json ToJson() const;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool estimated = false;  // no counts from the provider: about 4 characters per token
  int64_t total() const { return prompt_tokens + completion_tokens; }
};

struct Reply {
  std::string text;
  std::string model;          // as the provider reported it
  std::string finish_reason;  // "stop", "length", "end_turn", ...
  Usage usage;
  double latency_s = 0;      // request sent to last byte, last attempt
  double first_token_s = 0;  // request sent to first text, last attempt
  double cost_usd = 0;
  int attempts = 1;
  bool cached = false;   // answered from the response cache: nothing paid
  std::string provider;  // the spec that answered
  int64_t log_id = 0;    // its row in the call log, when there is one
};

struct Error {
  enum class Kind {
    kConnect,        // connection refused or reset before a reply
    kDns,            // the host name does not resolve
    kTls,            // TLS handshake or certificate failure
    kTimeout,        // connect, first byte, idle or total deadline passed
    kRateLimited,    // HTTP 429
    kServer,         // 5xx, overloaded
    kAuth,           // 401/403 or no key: fix the key, do not retry
    kContextLength,  // the prompt is too long for the model: shrink it
    kBadRequest,     // any other 4xx: the request itself is wrong
    kMalformed,      // the reply is not what the protocol says
    kCutOff,         // the stream ended before the reply was complete
    kEmpty,          // a complete reply with no text
    kNoCode,         // a reply with no code block where code was asked for
    kCommandFailed,  // the command provider's program failed
    kBudget,         // the run's money or token budget is spent
    kCancelled,      // the caller stopped
    kConfig,         // a bad spec or configuration
  };
  Kind kind = Kind::kConfig;
  std::string message;
  int http_status = 0;
  double retry_after_s = -1;  // from Retry-After, when the server sent one

  // Worth another attempt after a pause.
  bool retryable() const;
};

std::string_view KindName(Error::Kind kind);

// One request's outcome: a reply, or the error that explains why there is none.
struct Completion {
  Reply reply;
  std::optional<Error> error;
  bool ok() const { return !error.has_value(); }
  static Completion Fail(Error::Kind kind, std::string message, int http_status = 0) {
    Completion c;
    c.error = Error{kind, std::move(message), http_status, -1};
    return c;
  }
};

// Receives reply text as it streams in.
using TextSink = std::function<void(std::string_view)>;

}  // namespace kf::llm
