// The agent and swarm strategies: ask, judge, feed the verdict back, keep the fastest.
//
// agent: a conversation per round, started from the best program so far; each attempt's
// verdict (compiler log, worst mismatch, time, roofline fraction) goes back to the model, up to
// attempts_per_round attempts; then a new round from the best.
//
// swarm: each round asks several models (or several samples) at once with the same prompt,
// judges every reply as it arrives, keeps the fastest correct, and tells every model the
// round's lessons in the next round's prompt.
#include <future>
#include <vector>

#include "search/run_context.h"
#include "util/subprocess.h"

namespace kf::search {
namespace {

constexpr size_t kHistoryLines = 24;

void AddLesson(std::vector<std::string>& history, const Candidate& c) {
  history.push_back("- candidate #" + std::to_string(c.id) + " (round " + std::to_string(c.round) +
                    "): " + SummaryText(c));
  if (history.size() > kHistoryLines) history.erase(history.begin());
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::string Instruction(const Candidate& c, const Candidate& parent) {
  if (c.verdict != "ok") return "Fix the problem and keep the program fast.";
  if (c.speedup > parent.speedup) return "It is faster. Find more speed.";
  return "It is correct but not faster than the current program. Try a different idea.";
}

}  // namespace

Status RunAgent(RunContext& ctx) {
  int64_t sample = 0;
  std::vector<std::string> history;
  for (int round = 1; !ctx.ShouldStop(); ++round) {
    const Candidate parent = ctx.Best();
    auto messages =
        TaskMessages(ctx.prompts, ctx.task, ctx.lang, parent, *ctx.initial, Join(history));
    const size_t first_turn = messages.size();
    for (int attempt = 1; attempt <= ctx.options.attempts_per_round && !ctx.ShouldStop();
         ++attempt) {
      auto reply = ctx.Ask(messages, ++sample);
      if (!reply) continue;
      if (!reply->ok() && reply->error->kind == llm::Error::Kind::kContextLength) {
        messages.resize(first_turn);  // start the conversation again from the task
        continue;
      }
      Candidate extra;
      extra.origin = "llm";
      extra.strategy = "agent";
      extra.round = round;
      extra.parent_id = parent.id;
      auto c = ctx.JudgeReply(*reply, extra);
      if (!c.ok()) return c.status();
      AddLesson(history, *c);
      if (!reply->ok()) continue;  // an empty reply: ask again
      messages.push_back({"assistant", reply->reply.text});
      messages.push_back(
          {"user", RetryMessage(ctx.prompts, ctx.lang, *c, Instruction(*c, parent))});
    }
  }
  return Status::Ok();
}

Status RunSwarm(RunContext& ctx) {
  const int members = static_cast<int>(ctx.models->config().members.size());
  const int per_round = ctx.options.samples_per_round > 0 ? ctx.options.samples_per_round : members;
  int64_t sample = 0;
  std::vector<std::string> history;
  for (int round = 1; !ctx.ShouldStop(); ++round) {
    const Candidate parent = ctx.Best();
    const auto messages =
        TaskMessages(ctx.prompts, ctx.task, ctx.lang, parent, *ctx.initial, Join(history));
    // Never more requests than the evaluation budget has room for.
    const int64_t room =
        ctx.options.budget_evals > 0 ? ctx.options.budget_evals - ctx.judged : per_round;
    const int n = static_cast<int>(std::min<int64_t>(per_round, room));
    std::vector<std::future<llm::Completion>> replies;
    for (int k = 0; k < n; ++k) {
      llm::Request req = ctx.MakeRequest(messages, ++sample);
      const int member = k % members;
      replies.push_back(std::async(std::launch::async, [&ctx, req, member] {
        return ctx.models->Complete(req, {}, member);
      }));
    }
    // Judged in order, each as soon as it has arrived: later replies stream in meanwhile.
    for (auto& f : replies) {
      const double t0 = MonotonicSeconds();
      llm::Completion got = f.get();
      ctx.llm_seconds += MonotonicSeconds() - t0;  // the wait, not the overlap
      auto reply = ctx.HandleReply(std::move(got));
      if (!reply || (!reply->ok() && reply->error->kind == llm::Error::Kind::kContextLength)) {
        continue;
      }
      if (ctx.interrupted && ctx.interrupted->load()) continue;
      Candidate extra;
      extra.origin = "llm";
      extra.strategy = "swarm";
      extra.round = round;
      extra.parent_id = parent.id;
      auto c = ctx.JudgeReply(*reply, extra);
      if (!c.ok()) return c.status();
      AddLesson(history, *c);
    }
  }
  return Status::Ok();
}

}  // namespace kf::search
