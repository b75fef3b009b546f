// One interface to every way a user reaches a model, chosen by a spec string:
//   openai:MODEL                          OpenAI's chat completions ($OPENAI_API_KEY)
//   anthropic:MODEL                       Anthropic's Messages API ($ANTHROPIC_API_KEY)
//   openai-compatible:BASE_URL#MODEL      any compatible server (vLLM, llama.cpp, Ollama, ...)
//   command:PROGRAM ARGS                  a program: prompt on stdin, reply on stdout
//   exchange:DIR                          request files written to DIR, reply files read back
// A provider makes one attempt per call; retries, budgets and caching live in Ensemble.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm/http.h"
#include "llm/types.h"
#include "util/status.h"

namespace kf::llm {

struct ProviderSpec {
  std::string kind;         // openai, anthropic, openai-compatible, command, exchange
  std::string model;        // HTTP providers
  std::string base_url;     // HTTP providers: up to and including the API version (.../v1)
  std::string command;      // command: run by /bin/sh -c
  std::string dir;          // exchange
  std::string api_key_env;  // where the key is read from; never the key itself
  Timeouts timeouts;        // HTTP deadlines; command and exchange use total_s
  std::string text;         // the spec as written: names the provider in logs and the store

  // A stable name for the provider and model, without anything secret.
  std::string Name() const { return text; }
};

// Parses a spec string, filling base URL and key variable defaults. OPENAI_BASE_URL and
// ANTHROPIC_BASE_URL override the public endpoints (as in the vendors' own SDKs).
Result<ProviderSpec> ParseSpec(const std::string& spec);

// The key variable for an OpenAI-compatible base URL: a well-known host's own (OpenRouter,
// DeepSeek, Gemini, Groq, Together, Mistral), else KFORGE_LLM_API_KEY.
std::string DefaultKeyEnv(const std::string& base_url);

struct ModelList {
  bool supported = true;  // false: the provider has no model list (command, exchange)
  std::vector<std::string> ids;
  std::optional<Error> error;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // One attempt. Text is passed to `sink` as it arrives (may be empty).
  virtual Completion Complete(const Request& request, const TextSink& sink) = 0;
  virtual ModelList ListModels() { return ModelList{false, {}, std::nullopt}; }
  const ProviderSpec& spec() const { return spec_; }

 protected:
  explicit Provider(ProviderSpec spec) : spec_(std::move(spec)) {}
  ProviderSpec spec_;
};

std::unique_ptr<Provider> MakeProvider(const ProviderSpec& spec);

// Implementations, one file each.
std::unique_ptr<Provider> MakeOpenAiProvider(const ProviderSpec& spec);
std::unique_ptr<Provider> MakeAnthropicProvider(const ProviderSpec& spec);
std::unique_ptr<Provider> MakeCommandProvider(const ProviderSpec& spec);
std::unique_ptr<Provider> MakeExchangeProvider(const ProviderSpec& spec);

// The key from spec.api_key_env, or "" when unset.
std::string ApiKey(const ProviderSpec& spec);

// Renders a conversation as plain text for programs and people: a lone user message as itself,
// otherwise each message under a "### role" line.
std::string RenderAsText(const std::vector<Message>& messages);

}  // namespace kf::llm
