#include "llm/provider.h"

#include <cstdlib>

namespace kf::llm {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::string DefaultKeyEnv(const std::string& base_url) {
  static const std::pair<const char*, const char*> kHosts[] = {
      {"openrouter.ai", "OPENROUTER_API_KEY"},
      {"api.deepseek.com", "DEEPSEEK_API_KEY"},
      {"generativelanguage.googleapis.com", "GEMINI_API_KEY"},
      {"api.groq.com", "GROQ_API_KEY"},
      {"api.together.xyz", "TOGETHER_API_KEY"},
      {"api.mistral.ai", "MISTRAL_API_KEY"},
      {"api.openai.com", "OPENAI_API_KEY"},
  };
  for (const auto& [host, env] : kHosts) {
    if (base_url.find(host) != std::string::npos) return env;
  }
  return "KFORGE_LLM_API_KEY";
}

Result<ProviderSpec> ParseSpec(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::Error("LLM spec '" + text +
                         "': expected KIND:..., one of openai:MODEL, anthropic:MODEL, "
                         "openai-compatible:BASE_URL#MODEL, command:PROGRAM ARGS, exchange:DIR");
  }
  ProviderSpec s;
  s.text = text;
  s.kind = text.substr(0, colon);
  const std::string rest = text.substr(colon + 1);
  auto need = [&](const std::string& what) {
    return Status::Error("LLM spec '" + text + "': " + what);
  };
  if (s.kind == "openai") {
    if (rest.empty()) return need("expected openai:MODEL, e.g. openai:gpt-4.1");
    s.model = rest;
    s.base_url = TrimSlash(EnvOr("OPENAI_BASE_URL", "https://api.openai.com/v1"));
    s.api_key_env = "OPENAI_API_KEY";
  } else if (s.kind == "anthropic") {
    if (rest.empty()) return need("expected anthropic:MODEL, e.g. anthropic:claude-sonnet-4-5");
    s.model = rest;
    s.base_url = TrimSlash(EnvOr("ANTHROPIC_BASE_URL", "https://api.anthropic.com"));
    s.api_key_env = "ANTHROPIC_API_KEY";
  } else if (s.kind == "openai-compatible") {
    const size_t hash = rest.rfind('#');
    if (hash == std::string::npos || hash == 0 || hash + 1 == rest.size()) {
      return need(
          "expected openai-compatible:BASE_URL#MODEL, e.g. "
          "openai-compatible:http://127.0.0.1:8080/v1#qwen2.5-coder");
    }
    s.base_url = TrimSlash(rest.substr(0, hash));
    s.model = rest.substr(hash + 1);
    if (s.base_url.rfind("http://", 0) != 0 && s.base_url.rfind("https://", 0) != 0) {
      return need("the base URL must start with http:// or https://");
    }
    s.api_key_env = DefaultKeyEnv(s.base_url);
  } else if (s.kind == "command") {
    if (rest.find_first_not_of(" \t") == std::string::npos) {
      return need("expected command:PROGRAM ARGS, e.g. \"command:llm -m gpt-4o-mini\"");
    }
    s.command = rest;
    s.model = rest;
  } else if (s.kind == "exchange") {
    if (rest.empty()) return need("expected exchange:DIR");
    s.dir = rest;
    s.model = "exchange";
  } else {
    return need("unknown kind '" + s.kind +
                "' (openai, anthropic, openai-compatible, command, exchange)");
  }
  return s;
}

std::string ApiKey(const ProviderSpec& spec) {
  if (spec.api_key_env.empty()) return "";
  const char* v = std::getenv(spec.api_key_env.c_str());
  return v ? v : "";
}

std::string RenderAsText(const std::vector<Message>& messages) {
  if (messages.size() == 1 && messages[0].role == "user") return messages[0].content;
  std::string out;
  for (const auto& m : messages) {
    if (!out.empty()) out += "\n\n";
    out += "### " + m.role + "\n\n" + m.content;
  }
  return out;
}

std::unique_ptr<Provider> MakeProvider(const ProviderSpec& spec) {
  if (spec.kind == "openai" || spec.kind == "openai-compatible") return MakeOpenAiProvider(spec);
  if (spec.kind == "anthropic") return MakeAnthropicProvider(spec);
  if (spec.kind == "command") return MakeCommandProvider(spec);
  if (spec.kind == "exchange") return MakeExchangeProvider(spec);
  return nullptr;
}

}  // namespace kf::llm
