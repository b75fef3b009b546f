// `kforge llm ping SPEC` and `kforge llm ask SPEC PROMPT`: reach a model from the command line,
// through the same providers, retries, price table, call log and cache as a run.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "cli/commands.h"
#include "eval/compiler.h"
#include "llm/call_log.h"
#include "llm/ensemble.h"
#include "llm/wire.h"

namespace kf::cli {
namespace {

using llm::Completion;
using llm::Error;

const char* kLlmUsage = R"(usage:
  kforge llm ping SPEC [--config FILE]
      Can kforge reach this model? Lists the server's models (where its API has a list) and asks
      for a tiny completion.
  kforge llm ask SPEC PROMPT [options]
      One completion, streamed to the terminal. PROMPT '-' reads standard input.
      --system TEXT          a system message first
      --max-tokens N         reply limit (default: the config's llm.max_tokens, else 8192)
      --temperature T        sampling temperature (ignored by reasoning models)
      --reasoning-effort E   low, medium or high (reasoning models)
      --no-cache             ask even if the same request was answered before
      --config FILE          read the llm: section (timeouts, retries, prices) from FILE
      --json                 print one JSON object (reply, usage, cost, latency) instead

SPEC: openai:MODEL, anthropic:MODEL, openai-compatible:BASE_URL#MODEL, command:PROGRAM ARGS,
exchange:DIR (docs/llm.md). Calls are recorded in $KFORGE_CACHE/llm.sqlite.
)";

int Usage(const std::string& why) {
  std::fprintf(stderr, "kforge llm: %s\n\n%s", why.c_str(), kLlmUsage);
  return 2;
}

int Failed(const Error& e) {
  std::fprintf(stderr, "kforge llm: %s: %s\n", std::string(llm::KindName(e.kind)).c_str(),
               e.message.c_str());
  return 1;
}

Result<std::shared_ptr<llm::CallLog>> OpenLog() {
  auto log = llm::CallLog::Open(eval::DefaultCacheDir() / "llm.sqlite");
  if (!log.ok()) return log.status();
  return std::shared_ptr<llm::CallLog>(std::move(*log));
}

nlohmann::json ReplyJson(const Completion& c) {
  const auto& r = c.reply;
  nlohmann::json j = {{"ok", c.ok()}, {"provider", r.provider}};
  if (c.ok()) {
    j.update({{"text", r.text},
              {"model", r.model},
              {"finish_reason", r.finish_reason},
              {"usage",
               {{"prompt_tokens", r.usage.prompt_tokens},
                {"completion_tokens", r.usage.completion_tokens},
                {"estimated", r.usage.estimated}}},
              {"cost_usd", r.cost_usd},
              {"latency_s", r.latency_s},
              {"first_token_s", r.first_token_s},
              {"attempts", r.attempts},
              {"cached", r.cached}});
  } else {
    j["error"] = {{"kind", llm::KindName(c.error->kind)},
                  {"message", c.error->message},
                  {"http_status", c.error->http_status}};
  }
  return j;
}

void PrintSummary(const Completion& c) {
  const auto& r = c.reply;
  std::fprintf(stderr, "-- %s: %lld + %lld tokens%s, $%.6f, %.2f s (first text %.2f s)%s%s\n",
               r.model.c_str(), static_cast<long long>(r.usage.prompt_tokens),
               static_cast<long long>(r.usage.completion_tokens),
               r.usage.estimated ? " (estimated)" : "", r.cost_usd, r.latency_s, r.first_token_s,
               r.attempts > 1 ? (", " + std::to_string(r.attempts) + " attempts").c_str() : "",
               r.cached ? ", from the cache (not paid again)" : "");
}

int Ping(const std::vector<std::string>& args) {
  std::string spec_text, config;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config = args[++i];
    } else if (spec_text.empty() && args[i].rfind("--", 0) != 0) {
      spec_text = args[i];
    } else {
      return Usage("unexpected argument '" + args[i] + "'");
    }
  }
  if (spec_text.empty()) return Usage("ping needs a SPEC");
  auto cfg = llm::LoadEnsembleConfig(config, {spec_text});
  if (!cfg.ok()) return Usage(cfg.status().message());
  cfg->cache = false;
  cfg->retry.max_attempts = 2;
  const llm::ProviderSpec spec = cfg->members[0].spec;
  std::printf("provider  %s\n", spec.text.c_str());
  if (!spec.base_url.empty()) std::printf("endpoint  %s\n", spec.base_url.c_str());
  if (!spec.api_key_env.empty()) {
    std::printf("key       $%s %s\n", spec.api_key_env.c_str(),
                llm::ApiKey(spec).empty() ? "(not set)" : "(set)");
  }
  auto provider = llm::MakeProvider(spec);
  const llm::ModelList models = provider->ListModels();
  if (!models.supported) {
    std::printf("models    (this provider has no model list)\n");
  } else if (models.error) {
    std::printf("models    could not list: %s: %s\n",
                std::string(llm::KindName(models.error->kind)).c_str(),
                models.error->message.c_str());
  } else {
    std::string shown;
    for (size_t i = 0; i < models.ids.size() && i < 8; ++i) {
      shown += (i ? ", " : "") + models.ids[i];
    }
    if (models.ids.size() > 8) shown += ", ...";
    bool listed = false;
    for (const auto& id : models.ids) listed |= id == spec.model;
    std::printf("models    %zu: %s%s\n", models.ids.size(), shown.c_str(),
                listed || spec.model.empty() ? "" : "  (the spec's model is not among them)");
  }
  auto log = OpenLog();
  auto ensemble = llm::Ensemble::Create(*cfg, log.ok() ? *log : nullptr);
  if (!ensemble.ok()) return Usage(ensemble.status().message());
  llm::Request req;
  req.messages = {{"user", "Reply with the single word: pong"}};
  req.max_tokens = llm::IsReasoningModel(spec.model) ? 512 : 16;
  const Completion c = (*ensemble)->Complete(req);
  if (!c.ok()) {
    std::printf("reply     FAILED\n");
    return Failed(*c.error);
  }
  std::string text = c.reply.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::printf("reply     \"%s\" from %s in %.2f s (%lld + %lld tokens)\n", text.c_str(),
              c.reply.model.c_str(), c.reply.latency_s,
              static_cast<long long>(c.reply.usage.prompt_tokens),
              static_cast<long long>(c.reply.usage.completion_tokens));
  return 0;
}

int Ask(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::string config, system, effort;
  int max_tokens = -1;
  std::optional<double> temperature;
  bool no_cache = false, json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "--config" || a == "--system" || a == "--max-tokens" || a == "--temperature" ||
        a == "--reasoning-effort") {
      auto v = value();
      if (!v) return Usage(a + " needs a value");
      try {
        if (a == "--config") config = *v;
        if (a == "--system") system = *v;
        if (a == "--max-tokens") max_tokens = std::stoi(*v);
        if (a == "--temperature") temperature = std::stod(*v);
        if (a == "--reasoning-effort") effort = *v;
      } catch (const std::exception&) {
        return Usage(a + ": '" + *v + "' is not a number");
      }
    } else if (a == "--no-cache") {
      no_cache = true;
    } else if (a == "--json") {
      json = true;
    } else if (a.rfind("--", 0) == 0) {
      return Usage("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) return Usage("ask needs a SPEC and a PROMPT");
  std::string prompt = positional[1];
  if (prompt == "-") {
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto cfg = llm::LoadEnsembleConfig(config, {positional[0]});
  if (!cfg.ok()) return Usage(cfg.status().message());
  if (no_cache) cfg->cache = false;
  auto log = OpenLog();
  if (!log.ok())
    std::fprintf(stderr, "kforge llm: %s (going on without)\n", log.status().message().c_str());
  auto ensemble = llm::Ensemble::Create(*cfg, log.ok() ? *log : nullptr);
  if (!ensemble.ok()) return Usage(ensemble.status().message());
  (*ensemble)->OnRetry([](const std::string&, const Error& e, double pause) {
    std::fprintf(stderr, "\nkforge llm: %s: %s; retrying in %.1f s\n",
                 std::string(llm::KindName(e.kind)).c_str(), e.message.c_str(), pause);
  });
  llm::Request req;
  if (!system.empty()) req.messages.push_back({"system", system});
  req.messages.push_back({"user", prompt});
  req.max_tokens = max_tokens > 0 ? max_tokens : cfg->max_tokens;
  req.temperature = temperature ? temperature : cfg->temperature;
  req.reasoning_effort = effort.empty() ? cfg->reasoning_effort : effort;
  llm::TextSink sink;
  if (!json) {
    sink = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  const Completion c = (*ensemble)->Complete(req, sink);
  if (json) {
    std::printf("%s\n", ReplyJson(c).dump().c_str());
    return c.ok() ? 0 : 1;
  }
  if (!c.ok()) return Failed(*c.error);
  if (c.reply.text.empty() || c.reply.text.back() != '\n') std::printf("\n");
  std::fflush(stdout);
  PrintSummary(c);
  return 0;
}

}  // namespace

int RunLlm(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("expected ping or ask");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "ping") return Ping(rest);
  if (args[0] == "ask") return Ask(rest);
  if (args[0] == "help" || args[0] == "--help") {
    std::fputs(kLlmUsage, stdout);
    return 0;
  }
  return Usage("unknown subcommand '" + args[0] + "'");
}

}  // namespace kf::cli
