#include "search/first_program.h"

#include <optional>
#include <utility>
#include <vector>

#include "search/run_context.h"

namespace kf::search {

Result<std::pair<std::string, std::string>> RunLanguage(const std::string& language,
                                                        const std::string& backend) {
  const std::string l = language.empty() ? (backend == "cuda" ? "cuda" : "c") : language;
  if (l == "c") return std::pair<std::string, std::string>{"c", ".c"};
  if (l == "cpp") return std::pair<std::string, std::string>{"cpp", ".cc"};
  if (l == "modelnew") return std::pair<std::string, std::string>{"python", ".py"};
  if ((l == "cuda" || l == "cuda-kernel") && backend == "cuda") {
    return std::pair<std::string, std::string>{l, ".cu"};
  }
  if (l == "cuda" || l == "cuda-kernel") {
    return Status::Error("--language " + l + " needs a CUDA task (this one runs on the " + backend +
                         "; import or load it with backend: cuda)");
  }
  return Status::Error("unknown --language '" + language +
                       "' (c, cpp, cuda, cuda-kernel, modelnew)");
}

Status WriteFirstProgram(RunContext& ctx) {
  std::vector<std::string> history;
  std::optional<std::pair<std::string, std::string>> last;  // the last reply and its feedback
  int64_t sample = 0;
  int attempt = 0;
  while (!ctx.ShouldStop()) {
    std::string lessons;
    for (const auto& h : history) lessons += h + "\n";
    auto messages = FirstProgramMessages(ctx.prompts, ctx.task, ctx.language, lessons);
    if (last) {
      messages.push_back({"assistant", last->first});
      messages.push_back({"user", last->second});
    }
    auto reply = ctx.Ask(messages, ++sample);
    if (!reply) continue;
    Candidate extra;
    extra.origin = "llm";
    extra.strategy = ctx.options.strategy;
    extra.round = 0;
    auto c = ctx.JudgeReply(*reply, extra);
    if (!c.ok()) return c.status();
    ++attempt;
    if (c->verdict == "ok") {
      ctx.initial = *c;
      ctx.best = *c;
      return Status::Ok();
    }
    history.push_back("- attempt " + std::to_string(attempt) + " (candidate #" +
                      std::to_string(c->id) + "): " + c->verdict);
    if (reply->ok()) {
      last = {reply->reply.text, RetryMessage(ctx.prompts, ctx.lang, *c, "Fix the problem.")};
    }
  }
  ctx.stop_reason = "no correct first program within the budget (" + std::to_string(attempt) +
                    " attempts; " + ctx.stop_reason + ")";
  return Status::Ok();
}

}  // namespace kf::search
