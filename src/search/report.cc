#include "search/report.h"

#include <cstdio>
#include <fstream>

#include "llm/call_log.h"
#include "search/prompts.h"
#include "search/run_context.h"
#include "util/subprocess.h"

namespace kf::search {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
// Paths in report.json are absolute, so `kforge bench --from-run` works from any directory.
std::string Absolute(const fs::path& p) {
  std::error_code ec;
  const fs::path a = fs::absolute(p, ec);
  return ec ? p.string() : a.lexically_normal().string();
}
// The lineage: from the starting program to the winner.
Result<json> Lineage(RunStore& store, int64_t best_id) {
  json lineage = json::array();
  for (int64_t id = best_id; id != 0;) {
    auto c = store.Get(id);
    if (!c.ok()) return c.status();
    if (!*c) break;
    const Candidate& got = **c;
    lineage.insert(lineage.begin(), json{{"id", got.id},
                                         {"origin", got.origin},
                                         {"round", got.round},
                                         {"verdict", got.verdict},
                                         {"speedup", got.speedup},
                                         {"time_ms", got.time_ms},
                                         {"params", got.params}});
    id = got.parent_id == got.id ? 0 : got.parent_id;
  }
  return lineage;
}

// The run's model calls, tokens and cost; {} for a run without models. The run is recorded
// whatever happens here: a log that cannot be read costs the report its models section, said
// on stderr, not the run its report.
json ModelTotals(RunContext& ctx) {
  if (!ctx.models) return json::object();
  auto log = llm::CallLog::Open(ctx.store->db_path());
  auto t = log.ok() ? (*log)->Sum() : Result<llm::CallLog::Totals>(log.status());
  if (!t.ok()) {
    std::fprintf(stderr, "kforge optimize: the report leaves out the model calls: %s\n",
                 t.status().message().c_str());
    return json::object();
  }
  return {{"calls", t->calls},
          {"errors", t->errors},
          {"cached", t->cached},
          {"prompt_tokens", t->prompt_tokens},
          {"completion_tokens", t->completion_tokens},
          {"cost_usd", t->cost_usd}};
}

std::string Interval(const json& ci) {
  if (!ci.is_array() || ci.size() != 2 || !ci[0].is_number()) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), " [%.2f, %.2f]", ci[0].get<double>(), ci[1].get<double>());
  return buf;
}

// The final comparison's winner row, or null.
const json* WinnerRow(const json& final_comparison) {
  const int64_t winner = final_comparison.value("winner", int64_t{0});
  if (winner == 0) return nullptr;
  for (const auto& p : final_comparison["programs"]) {
    if (p.value("candidate_id", int64_t{0}) == winner && !p.value("baseline", false)) return &p;
  }
  return nullptr;
}

// The best program against each baseline: from the final comparison where it has a winner
// (timed side by side), else from the best program's own evaluation.
json BaselinesJson(const Candidate& best, const json& final_comparison) {
  json baselines = json::array();
  if (const json* w = WinnerRow(final_comparison)) {
    eval::TimeStats mine;
    mine.median_ms = (*w)["median_ms"].get<double>();
    mine.ci_lo_ms = (*w)["ci_ms"][0].get<double>();
    mine.ci_hi_ms = (*w)["ci_ms"][1].get<double>();
    for (const auto& p : final_comparison["programs"]) {
      if (!p.value("baseline", false)) continue;
      json b = {{"name", p.value("name", "")}, {"source", "final comparison"}};
      if (!p.value("failure", "").empty()) {
        b["failure"] = p["failure"];
        b["time_ms"] = 0.0;
        b["speedup"] = 0.0;
      } else {
        eval::TimeStats theirs;
        theirs.median_ms = p["median_ms"].get<double>();
        theirs.ci_lo_ms = p["ci_ms"][0].get<double>();
        theirs.ci_hi_ms = p["ci_ms"][1].get<double>();
        const auto ci = eval::SpeedupInterval(theirs, mine);
        b["time_ms"] = theirs.median_ms;
        b["speedup"] = theirs.median_ms / std::max(mine.median_ms, 1e-12);
        b["speedup_ci"] = {ci.first, ci.second};
        b["significant"] = ci.first > eval::EvalResult::kSignificantRatio ||
                           ci.second < 1 / eval::EvalResult::kSignificantRatio;
      }
      baselines.push_back(b);
    }
    return baselines;
  }
  baselines.push_back({{"name", best.result.value("baseline_name", "initial program")},
                       {"source", "evaluation"},
                       {"time_ms", best.result.value("baseline_time_ms", 0.0)},
                       {"speedup", best.speedup},
                       {"speedup_ci", best.result.value("speedup_ci", json())},
                       {"significant", best.result.value("speedup_significant", json())}});
  for (const auto& b : best.result.value("baselines", json::array())) {
    const bool timed = b.contains("time_ms") && b["time_ms"].is_object();
    baselines.push_back({{"name", b.value("name", "")},
                         {"source", "evaluation"},
                         {"time_ms", timed ? b["time_ms"].value("median", 0.0) : 0.0},
                         {"speedup", b.value("speedup", 0.0)},
                         {"speedup_ci", b.value("speedup_ci", json())},
                         {"significant", b.value("significant", json())}});
  }
  return baselines;
}

// A speedup for people: "3.10x [2.98, 3.22]", with "not significant" when its interval
// reaches into [1/1.01, 1.01].
std::string SpeedupText(const json& b) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.2fx", b.value("speedup", 0.0));
  std::string s = buf + Interval(b.value("speedup_ci", json()));
  if (b.contains("significant") && b["significant"].is_boolean() && !b["significant"].get<bool>())
    s += " (not significant)";
  return s;
}

// The final comparison as a markdown section.
std::string FinalMarkdown(const json& fc) {
  if (fc.contains("error")) {
    return "\n## Final comparison\n\nNot made: " + fc["error"].get<std::string>() +
           ". The figures above are the best program's own evaluation.\n";
  }
  if (!fc.contains("programs")) return "";
  std::string first_baseline;
  for (const auto& p : fc["programs"]) {
    if (p.value("baseline", false)) {
      first_baseline = p.value("name", "");
      break;
    }
  }
  std::string md =
      "\n## Final comparison\n\nThe fastest candidates and the baselines timed again "
      "together: " +
      std::to_string(fc.value("rounds", 0)) +
      " alternating rounds on fresh inputs. The winner and its speedups come from "
      "here.\n\n| program | median ms | 95% interval ms | speedup vs " +
      first_baseline + " |  |\n|---|---|---|---|---|\n";
  char line[512];
  for (const auto& p : fc["programs"]) {
    const bool base = p.value("baseline", false);
    const std::string name =
        base ? p.value("name", "") : "#" + std::to_string(p.value("candidate_id", int64_t{0}));
    if (!p.value("failure", "").empty()) {
      md += "| " + name + " | | | | failed: " + p["failure"].get<std::string>() + " |\n";
      continue;
    }
    const std::string speedup = base && name == first_baseline ? "1.00x" : SpeedupText(p);
    std::snprintf(line, sizeof(line), "| %s | %.4f | %.4f - %.4f | %s | %s |\n", name.c_str(),
                  p.value("median_ms", 0.0), p["ci_ms"][0].get<double>(),
                  p["ci_ms"][1].get<double>(), speedup.c_str(),
                  p.value("winner", false) ? "**winner**" : "");
    md += line;
  }
  if (fc.contains("vs_next")) {
    const json& v = fc["vs_next"];
    std::snprintf(line, sizeof(line), "\nThe winner against the runner-up (#%lld): %s.\n",
                  static_cast<long long>(v.value("candidate_id", int64_t{0})),
                  SpeedupText(v).c_str());
    md += line;
  }
  if (fc.value("winner", int64_t{0}) == 0) {
    md += "\nNo candidate was shown faster than " + first_baseline +
          " here: the starting program stands.\n";
  }
  return md;
}

// The one-screen summary on stdout, from the report's JSON.
void PrintSummary(const RunContext& ctx, const Candidate& best, const fs::path& best_file,
                  const json& report) {
  std::printf("kforge optimize: %s, strategy %s: %s\n", ctx.task.name.c_str(),
              ctx.options.strategy.c_str(), ctx.stop_reason.c_str());
  const json& baselines = report["baselines"];
  const json& fc = report["final_comparison"];
  std::printf("  best      #%lld: %.4f ms, %s %s%s -> %s\n", static_cast<long long>(best.id),
              report["best"]["time_ms"].get<double>(), SpeedupText(baselines[0]).c_str(),
              baselines[0]["name"].get<std::string>().c_str(),
              baselines[0].value("source", "") == "final comparison" ? " (final comparison)" : "",
              best_file.c_str());
  for (size_t i = 1; i < baselines.size(); ++i) {
    std::printf("  vs %-7s %s\n", baselines[i]["name"].get<std::string>().c_str(),
                SpeedupText(baselines[i]).c_str());
  }
  if (fc.contains("programs")) {
    std::string line;
    char part[96];
    for (const auto& p : fc["programs"]) {
      const std::string name = p.value("baseline", false)
                                   ? p.value("name", "")
                                   : "#" + std::to_string(p.value("candidate_id", int64_t{0}));
      if (!p.value("failure", "").empty()) {
        std::snprintf(part, sizeof(part), "%s failed", name.c_str());
      } else {
        std::snprintf(part, sizeof(part), "%s %.4f ms", name.c_str(), p.value("median_ms", 0.0));
      }
      line += (line.empty() ? "" : ", ") + std::string(part);
    }
    std::printf("  final     %d rounds: %s\n", fc.value("rounds", 0), line.c_str());
    if (fc.contains("vs_next")) {
      std::printf("            winner vs #%lld: %s\n",
                  static_cast<long long>(fc["vs_next"].value("candidate_id", int64_t{0})),
                  SpeedupText(fc["vs_next"]).c_str());
    }
  } else if (fc.contains("error")) {
    std::printf("  final     not made: %s\n", fc["error"].get<std::string>().c_str());
  }
  std::string vs;
  for (const auto& [v, n] : report["verdicts"].items()) {
    vs += (vs.empty() ? "" : ", ") + v + " " + std::to_string(n.get<int64_t>());
  }
  std::printf("  verdicts  %s (%lld candidates)\n", vs.c_str(),
              static_cast<long long>(report["candidates"].get<int64_t>()));
  const json& llm_totals = report["llm"];
  if (!llm_totals.empty()) {
    std::printf("  models    %lld calls, %lld tokens, $%.4f\n",
                static_cast<long long>(llm_totals["calls"].get<int64_t>()),
                static_cast<long long>(llm_totals["prompt_tokens"].get<int64_t>() +
                                       llm_totals["completion_tokens"].get<int64_t>()),
                llm_totals["cost_usd"].get<double>());
  }
  std::printf("  time      %.1f s (judging %.1f s, models %.1f s)\n",
              report["seconds"]["total"].get<double>(), ctx.eval_seconds, ctx.llm_seconds);
  std::printf("  report    %s\n", (ctx.options.run_dir / "report.md").c_str());
}

}  // namespace

Result<json> WriteReport(RunContext& ctx) {
  const Candidate best = ctx.Best();
  const fs::path best_file = ctx.options.run_dir / ("best" + ctx.extension);
  {
    std::ofstream out(best_file, std::ios::binary | std::ios::trunc);
    out << best.code;
  }
  auto lineage = Lineage(*ctx.store, best.id);
  if (!lineage.ok()) return lineage.status();
  auto counted = ctx.store->Counts();
  if (!counted.ok()) return counted.status();
  const store::VerdictCounts& counts = *counted;
  json verdicts = json::object();
  for (const auto& [v, n] : counts.by_verdict) verdicts[v] = n;
  const json baselines = BaselinesJson(best, ctx.final_comparison);
  const json* final_winner = WinnerRow(ctx.final_comparison);
  const double best_ms = final_winner ? (*final_winner)["median_ms"].get<double>() : best.time_ms;
  const double best_speedup = baselines[0].value("speedup", 0.0);
  const json llm_totals = ModelTotals(ctx);
  const double total = MonotonicSeconds() - ctx.start_time;
  json report = {
      {"task", ctx.task.name},
      {"task_dir", Absolute(ctx.task.dir)},
      {"task_file", Absolute(ctx.task.torch ? ctx.task.torch->file : ctx.task.dir)},
      {"strategy", ctx.options.strategy},
      {"seed", ctx.options.seed},
      {"models", ctx.options.llm_specs},
      {"stopped", ctx.stop_reason},
      {"candidates", counts.total},
      {"judged_this_session", ctx.new_evals},
      {"verdicts", verdicts},
      {"best",
       {{"id", best.id},
        {"file", Absolute(best_file)},
        {"verdict", best.verdict},
        {"time_ms", best_ms},
        {"speedup", best_speedup},
        {"source", final_winner ? "final comparison" : "evaluation"},
        {"params", best.params},
        {"result", best.result}}},
      {"baselines", baselines},
      {"final_comparison", ctx.final_comparison},
      {"lineage", *lineage},
      {"llm", llm_totals},
      {"seconds", {{"total", total}, {"evaluation", ctx.eval_seconds}, {"llm", ctx.llm_seconds}}},
  };
  {
    std::ofstream out(ctx.options.run_dir / "report.json", std::ios::trunc);
    out << report.dump(2) << "\n";
  }

  std::string md = "# kforge optimize: " + ctx.task.name + "\n\n";
  char line[512];
  std::snprintf(line, sizeof(line),
                "Strategy `%s`, seed %llu, %lld candidates (%lld judged in the last session), "
                "stopped: %s.\n\n",
                ctx.options.strategy.c_str(), static_cast<unsigned long long>(ctx.options.seed),
                static_cast<long long>(counts.total), static_cast<long long>(ctx.new_evals),
                ctx.stop_reason.c_str());
  md += line;
  std::snprintf(line, sizeof(line), "**Best: candidate #%lld, %.4f ms, %s %s** (`%s`; %s).\n\n",
                static_cast<long long>(best.id), best_ms, SpeedupText(baselines[0]).c_str(),
                baselines[0]["name"].get<std::string>().c_str(), best_file.filename().c_str(),
                final_winner ? "timed side by side with the baselines in the final comparison"
                             : "figures from its own evaluation");
  md += line;
  md += "| baseline | its median ms | best's speedup (95% interval) |\n|---|---|---|\n";
  for (const auto& b : baselines) {
    std::snprintf(line, sizeof(line), "| %s | %.4f | %s |\n", b["name"].get<std::string>().c_str(),
                  b["time_ms"].get<double>(), SpeedupText(b).c_str());
    md += line;
  }
  md += FinalMarkdown(ctx.final_comparison);
  md +=
      "\n## Lineage\n\n| candidate | origin | round | verdict | speedup | params "
      "|\n|---|---|---|---|---|---|\n";
  for (const auto& l : *lineage) {
    std::snprintf(line, sizeof(line), "| #%lld | %s | %d | %s | %.2fx | %s |\n",
                  static_cast<long long>(l["id"].get<int64_t>()),
                  l["origin"].get<std::string>().c_str(), l["round"].get<int>(),
                  l["verdict"].get<std::string>().c_str(), l["speedup"].get<double>(),
                  l["params"].empty() ? "" : l["params"].dump().c_str());
    md += line;
  }
  md += "\n## Verdicts\n\n| verdict | candidates |\n|---|---|\n";
  for (const auto& [v, n] : counts.by_verdict) md += "| " + v + " | " + std::to_string(n) + " |\n";
  if (!llm_totals.empty()) {
    std::snprintf(line, sizeof(line),
                  "\n## Models\n\n%lld calls (%lld answered from the run's log, %lld failed), %lld "
                  "prompt + %lld completion tokens, $%.4f.\n",
                  static_cast<long long>(llm_totals["calls"].get<int64_t>()),
                  static_cast<long long>(llm_totals["cached"].get<int64_t>()),
                  static_cast<long long>(llm_totals["errors"].get<int64_t>()),
                  static_cast<long long>(llm_totals["prompt_tokens"].get<int64_t>()),
                  static_cast<long long>(llm_totals["completion_tokens"].get<int64_t>()),
                  llm_totals["cost_usd"].get<double>());
    md += line;
  }
  std::snprintf(line, sizeof(line),
                "\n## Time\n\n%.1f s in all: %.1f s judging candidates, %.1f s waiting for models "
                "(this session).\n",
                total, ctx.eval_seconds, ctx.llm_seconds);
  md += line;
  md += "\n## Best program\n\n```" + ctx.lang + "\n" + best.code + "\n```\n";
  {
    std::ofstream out(ctx.options.run_dir / "report.md", std::ios::trunc);
    out << md;
  }

  PrintSummary(ctx, best, best_file, report);
  return report;
}

Result<json> WriteNoProgramReport(RunContext& ctx) {
  auto counted = ctx.store->Counts();
  if (!counted.ok()) return counted.status();
  json verdicts = json::object();
  for (const auto& [v, n] : counted->by_verdict) verdicts[v] = n;
  json attempts = json::array();
  std::string md = "# kforge optimize: " + ctx.task.name +
                   "\n\nNo correct first program: " + ctx.stop_reason +
                   ".\n\n| candidate | verdict | feedback |\n|---|---|---|\n";
  for (int64_t id = 1;; ++id) {
    auto c = ctx.store->Get(id);
    if (!c.ok()) return c.status();
    if (!*c) break;
    std::string feedback = (*c)->feedback.substr(0, 300);
    attempts.push_back({{"id", id}, {"verdict", (*c)->verdict}, {"feedback", feedback}});
    for (char& ch : feedback) {
      if (ch == '\n' || ch == '|') ch = ' ';
    }
    md += "| #" + std::to_string(id) + " | " + (*c)->verdict + " | " + feedback + " |\n";
  }
  const json llm_totals = ModelTotals(ctx);
  json report = {{"task", ctx.task.name},
                 {"task_dir", Absolute(ctx.task.dir)},
                 {"task_file", Absolute(ctx.task.torch ? ctx.task.torch->file : ctx.task.dir)},
                 {"strategy", ctx.options.strategy},
                 {"models", ctx.options.llm_specs},
                 {"stopped", ctx.stop_reason},
                 {"candidates", counted->total},
                 {"verdicts", verdicts},
                 {"best", nullptr},
                 {"attempts", attempts},
                 {"llm", llm_totals}};
  std::ofstream(ctx.options.run_dir / "report.json", std::ios::trunc) << report.dump(2) << "\n";
  std::ofstream(ctx.options.run_dir / "report.md", std::ios::trunc) << md;
  std::printf("kforge optimize: %s, strategy %s: %s\n", ctx.task.name.c_str(),
              ctx.options.strategy.c_str(), ctx.stop_reason.c_str());
  std::printf("  best      none: no attempt gave a correct program (%lld candidates)\n",
              static_cast<long long>(counted->total));
  std::printf("  report    %s\n", (ctx.options.run_dir / "report.md").c_str());
  return report;
}

}  // namespace kf::search
