// `kforge llm ping SPEC` and `kforge llm ask SPEC PROMPT`: reach a model from the command line,
// through the same providers, retries, price table, call log and cache as a run.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "eval/compiler.h"
#include "llm/call_log.h"
#include "llm/ensemble.h"
#include "llm/wire.h"

namespace kf::cli {
namespace {

using llm::Completion;
using llm::Error;

const char* kSpecHelp =
    "SPEC: openai:MODEL, anthropic:MODEL, openai-compatible:BASE_URL#MODEL, command:PROGRAM ARGS, "
    "exchange:DIR (docs/llm.md). Calls are recorded in $KFORGE_CACHE/llm.sqlite.\n";

// A failure before any request (a bad config, a provider that cannot be made): exit 2.
int Usage(const std::string& why) {
  std::fprintf(stderr, "kforge llm: %s\n", why.c_str());
  return 2;
}

struct PingArgs {
  std::string spec, config;
};

std::unique_ptr<CLI::App> NewPingApp(PingArgs* a) {
  auto app = NewCommandApp("llm ping",
                           "Can kforge reach this model? Lists the server's models (where its API "
                           "has a list) and asks for a tiny completion.");
  app->add_option("SPEC", a->spec, "the model")->type_name("")->required();
  app->add_option("--config", a->config, "read the llm: section (timeouts, retries, prices)")
      ->type_name("FILE");
  app->footer(kSpecHelp);
  return app;
}

struct AskArgs {
  std::string spec, prompt, config, system, effort;
  int max_tokens = -1;  // -1: the config's llm.max_tokens
  std::optional<double> temperature;
  bool no_cache = false, json = false;
};

std::unique_ptr<CLI::App> NewAskApp(AskArgs* a) {
  auto app = NewCommandApp("llm ask", "One completion, streamed to the terminal.");
  app->add_option("SPEC", a->spec, "the model")->type_name("")->required();
  app->add_option("PROMPT", a->prompt, "the request; '-' reads standard input")
      ->type_name("")
      ->required();
  app->add_option("--system", a->system, "a system message first")->type_name("TEXT");
  app->add_option("--max-tokens", a->max_tokens,
                  "reply limit (default: the config's llm.max_tokens, else 8192)")
      ->type_name("N")
      ->check(PositiveInteger());
  app->add_option("--temperature", a->temperature,
                  "sampling temperature (ignored by reasoning models)")
      ->type_name("T")
      ->check(NonNegativeNumber());
  app->add_option("--reasoning-effort", a->effort, "low, medium or high (reasoning models)")
      ->type_name("E");
  app->add_flag("--no-cache", a->no_cache, "ask even if the same request was answered before");
  app->add_option("--config", a->config, "read the llm: section (timeouts, retries, prices)")
      ->type_name("FILE");
  app->add_flag("--json", a->json, "print one JSON object (reply, usage, cost, latency) instead");
  app->footer(kSpecHelp);
  return app;
}

// Both subcommands' help.
std::string LlmHelp() {
  PingArgs ping;
  AskArgs ask;
  return NewPingApp(&ping)->help() + "\n" + NewAskApp(&ask)->help();
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
  PingArgs a;
  auto app = NewPingApp(&a);
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  auto cfg = llm::LoadEnsembleConfig(a.config, {a.spec});
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
  AskArgs a;
  auto app = NewAskApp(&a);
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  std::string prompt = a.prompt;
  if (prompt == "-") {
    prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto cfg = llm::LoadEnsembleConfig(a.config, {a.spec});
  if (!cfg.ok()) return Usage(cfg.status().message());
  if (a.no_cache) cfg->cache = false;
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
  if (!a.system.empty()) req.messages.push_back({"system", a.system});
  req.messages.push_back({"user", prompt});
  req.max_tokens = a.max_tokens > 0 ? a.max_tokens : cfg->max_tokens;
  req.temperature = a.temperature ? a.temperature : cfg->temperature;
  req.reasoning_effort = a.effort.empty() ? cfg->reasoning_effort : a.effort;
  llm::TextSink sink;
  if (!a.json) {
    sink = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  const Completion c = (*ensemble)->Complete(req, sink);
  if (a.json) {
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
  if (args.empty()) return Finish({2, "kforge llm: expected ping or ask\n\n" + LlmHelp()});
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "ping") return Ping(rest);
  if (args[0] == "ask") return Ask(rest);
  if (args[0] == "help" || args[0] == "--help" || args[0] == "-h") return Finish({0, LlmHelp()});
  return Finish({2, "kforge llm: unknown subcommand '" + args[0] + "'\n\n" + LlmHelp()});
}

}  // namespace kf::cli
