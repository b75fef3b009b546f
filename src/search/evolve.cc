// `--strategy evolve`: evolutionary search over a program database, after OpenEvolve and
// AlphaEvolve. Islands take turns; each keeps a MAP-Elites grid (one elite per cell of the
// feature dimensions: the fastest correct program there) and an archive of its correct
// programs. A step picks a parent on the island (exploration: any program of the archive;
// exploitation: a tournament among the elites; else the island's best), shows the model the
// parent, the island's top programs and a diverse elite as inspirations, and its recent failed
// edits (all islands at once, one generation), and asks for SEARCH/REPLACE edits inside
// EVOLVE-BLOCK regions (or a whole program, with edits: rewrite). Every migration_interval steps
// each island's best is copied to the next island (a ring). The islands, grids and picks are
// the database (evolve_database.h). The judge's stages are the cascade: static checks, compile
// and the small check sizes stop a bad child before the bench-size check and the timing.
//
// Config (optimize.evolve): islands (3), migration_interval (10 steps), exploration_ratio (0.2),
// exploitation_ratio (0.7), inspirations (2), edits ("diff" or "rewrite"), features (list of
// {metric, min, max, bins}; metric "code_size" or a dotted path into the evaluator's result such
// as "roofline.fraction"; default code_size over [0, 8000] and roofline.fraction over [0, 1], 6
// bins each).
#include <algorithm>
#include <future>

#include "llm/code.h"
#include "search/edits.h"
#include "search/evolve_database.h"
#include "search/run_context.h"
#include "util/subprocess.h"

namespace kf::search {
namespace {

std::string InspirationsText(const std::vector<Candidate>& programs, const std::string& lang) {
  if (programs.empty()) return "(none yet)\n";
  std::string s;
  for (const auto& c : programs) {
    s += "Candidate #" + std::to_string(c.id) + ", " + SummaryText(c) + ":\n\n```" + lang + "\n" +
         c.code + "\n```\n\n";
  }
  return s;
}

}  // namespace

Status RunEvolve(RunContext& ctx) {
  auto config = ReadEvolveConfig(ctx.options.evolve);
  if (!config.ok()) return config.status();
  EvolveDatabase db(*config, ctx.options.seed);
  for (int i = 0; i < config->islands; ++i) db.Add(i, *ctx.initial);
  // Generations: every island picks a parent and sends its request at once; the replies are
  // judged in island order as they arrive, so the judge works while the other requests are
  // still being answered. The picks of a generation come before its results, in a fixed order,
  // so a replay makes the same choices.
  int64_t step = 0;
  while (!ctx.ShouldStop()) {
    const int64_t room =
        ctx.options.budget_evals > 0 ? ctx.options.budget_evals - ctx.judged : config->islands;
    const int n = static_cast<int>(std::min<int64_t>(config->islands, room));
    struct Pending {
      int island;
      int64_t step;
      Candidate parent;
      std::future<llm::Completion> reply;
    };
    std::vector<Pending> pending;
    for (int island = 0; island < n; ++island) {
      const Candidate parent = db.Parent(island);
      const auto inspirations = db.Inspirations(island, parent);
      std::string failures;
      for (const auto& f : db.failures(island)) failures += "- " + f + "\n";
      auto messages = TaskMessages(ctx.prompts, ctx.task, ctx.lang, parent, *ctx.initial, "",
                                   config->diff ? EditsAnswer() : "");
      std::string& user = messages.back().content;
      if (config->diff) {
        user +=
            "\n" + Fill(ctx.prompts.evolve,
                        {{"inspirations", InspirationsText(inspirations, ctx.lang)},
                         {"failures",
                          failures.empty() ? "" : "\n## Recent edits that failed\n\n" + failures}});
      } else {
        user += "\n## Programs to learn from\n\n" + InspirationsText(inspirations, ctx.lang) +
                (failures.empty() ? "" : "\n## Recent attempts that failed\n\n" + failures);
      }
      const llm::Request req = ctx.MakeRequest(messages, ++step);
      pending.push_back({island, step, parent, std::async(std::launch::async, [&ctx, req] {
                           return ctx.models->Complete(req);
                         })});
    }
    for (auto& p : pending) {
      const double t0 = MonotonicSeconds();
      llm::Completion got = p.reply.get();
      ctx.llm_seconds += MonotonicSeconds() - t0;
      auto reply = ctx.HandleReply(std::move(got));
      if (!reply || (ctx.interrupted && ctx.interrupted->load())) continue;
      Candidate extra;
      extra.origin = "llm";
      extra.strategy = "evolve";
      extra.round = static_cast<int>(p.step);
      extra.island = p.island;
      extra.parent_id = p.parent.id;
      Result<Candidate> child = Status::Error("");
      if (!reply->ok() || !config->diff) {
        child = ctx.JudgeReply(*reply, extra);
      } else {
        extra.llm_call = reply->reply.log_id;
        EditResult edit = ApplyEdits(p.parent.code, ParseSearchReplace(reply->reply.text));
        child = edit.ok ? ctx.Judge(edit.program, extra)
                        : ctx.RecordFailure(edit.verdict, edit.message, extra, reply->reply.text);
      }
      if (!child.ok()) return child.status();
      if (child->verdict == "ok") {
        db.Add(p.island, *child);
      } else {
        std::string what = child->feedback;
        if (what.size() > 300) what = what.substr(0, 300) + "...";
        db.Fail(p.island,
                "candidate #" + std::to_string(child->id) + ": " + child->verdict + ": " + what);
      }
      if (p.step % config->migration_interval == 0) {
        Status st = db.Migrate(*ctx.store, p.step);
        if (!st.ok()) return st;
      }
    }
  }
  return Status::Ok();
}

}  // namespace kf::search
