// The agent and swarm strategies: ask, judge, feed the verdict back, keep the fastest.
//
// agent: a conversation per round, started from the best program so far; each attempt's
// verdict (compiler log, worst mismatch, time against its parent and the best so far, roofline
// fraction) goes back to the model, up to attempts_per_round attempts; then a new round from
// the best. The conversation keeps the task, the round's best attempt and the last one, so it
// does not grow by a program per turn. Each attempt's parent is the program it revises: the
// last attempt that gave one, else the round's starting program.
//
// swarm: each round asks several models (or several samples) at once with the same prompt,
// judges every reply as it arrives, keeps the fastest correct, and tells every model the
// round's lessons in the next round's prompt.
#include <cstdio>
#include <future>
#include <optional>
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

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f ms", ms);
  return buf;
}

std::string Id(const Candidate& c) { return "#" + std::to_string(c.id); }

}  // namespace

std::string Instruction(const Candidate& c, const Candidate& parent, const Candidate& best) {
  const std::string best_text = "the best so far is " + Id(best) + " at " + Ms(best.time_ms);
  if (c.verdict != "ok") return "Fix the problem (" + best_text + ").";
  if (c.id == best.id) {
    return "It is the fastest so far (" + Ms(c.time_ms) + "; its parent " + Id(parent) + " took " +
           Ms(parent.time_ms) + "). Find more speed.";
  }
  if (c.time_ms < parent.time_ms) {
    return "It is faster than its parent " + Id(parent) + " (" + Ms(parent.time_ms) +
           ") but not shown faster than " + best_text + ". Find more speed.";
  }
  return "It is correct but not faster than its parent " + Id(parent) + " (" + Ms(parent.time_ms) +
         "), and " + best_text + ". Try a different idea.";
}

namespace {

// An attempt the agent's conversation keeps: the model's reply and the verdict sent back.
struct Turn {
  std::string reply, feedback;
  Candidate candidate;
};

// The conversation of a round: the task, then the round's best attempt (when it is not the
// last) and the last attempt. Earlier attempts are dropped: their lessons are in the history.
std::vector<llm::Message> Conversation(const std::vector<llm::Message>& opening,
                                       const std::optional<Turn>& best,
                                       const std::optional<Turn>& last) {
  std::vector<llm::Message> m = opening;
  for (const auto* t : {&best, &last}) {
    if (!*t || (t == &best && last && best->candidate.id == last->candidate.id)) continue;
    m.push_back({"assistant", (*t)->reply});
    m.push_back({"user", (*t)->feedback});
  }
  return m;
}

}  // namespace

Status RunAgent(RunContext& ctx) {
  int64_t sample = 0;
  std::vector<std::string> history;
  for (int round = 1; !ctx.ShouldStop(); ++round) {
    const Candidate start = ctx.Best();
    const auto opening =
        TaskMessages(ctx.prompts, ctx.task, ctx.lang, start, *ctx.initial, Join(history));
    std::optional<Turn> best, last;
    // Each reply revises the last program the conversation showed: the last attempt that gave
    // one, else the round's starting program.
    Candidate parent = start;
    for (int attempt = 1; attempt <= ctx.options.attempts_per_round && !ctx.ShouldStop();
         ++attempt) {
      auto reply = ctx.Ask(Conversation(opening, best, last), ++sample);
      if (!reply) continue;
      if (!reply->ok() && reply->error->kind == llm::Error::Kind::kContextLength) {
        best.reset();  // start the conversation again from the task
        last.reset();
        parent = start;
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
      last = Turn{reply->reply.text,
                  RetryMessage(ctx.prompts, ctx.lang, *c, Instruction(*c, parent, ctx.Best())), *c};
      if (c->verdict == "ok" && (!best || c->time_ms < best->candidate.time_ms)) best = last;
      if (!c->code.empty()) parent = *c;
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
