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

// The one-screen summary on stdout, from the report's JSON.
void PrintSummary(const RunContext& ctx, const Candidate& best, const fs::path& best_file,
                  const json& report) {
  std::printf("kforge optimize: %s, strategy %s: %s\n", ctx.task.name.c_str(),
              ctx.options.strategy.c_str(), ctx.stop_reason.c_str());
  std::printf("  best      #%lld: %.4f ms, %.2fx %s -> %s\n", static_cast<long long>(best.id),
              best.time_ms, best.speedup, BaselineLabel(best.result).c_str(), best_file.c_str());
  const json& baselines = report["baselines"];
  for (size_t i = 1; i < baselines.size(); ++i) {
    std::printf("  vs %-7s %.2fx\n", baselines[i]["name"].get<std::string>().c_str(),
                baselines[i]["speedup"].get<double>());
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
  json baselines = json::array();
  baselines.push_back({{"name", "initial"},
                       {"time_ms", best.result.value("baseline_time_ms", 0.0)},
                       {"speedup", best.speedup}});
  for (const auto& b : best.result.value("baselines", json::array())) {
    baselines.push_back({{"name", b.value("name", "")},
                         {"time_ms", b["time_ms"].value("median", 0.0)},
                         {"speedup", b.value("speedup", 0.0)}});
  }
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
        {"time_ms", best.time_ms},
        {"speedup", best.speedup},
        {"params", best.params},
        {"result", best.result}}},
      {"baselines", baselines},
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
  std::snprintf(line, sizeof(line), "**Best: candidate #%lld, %.4f ms, %.2fx %s** (`%s`).\n\n",
                static_cast<long long>(best.id), best.time_ms, best.speedup,
                BaselineLabel(best.result).c_str(), best_file.filename().c_str());
  md += line;
  md += "| baseline | its median ms | best's speedup |\n|---|---|---|\n";
  for (const auto& b : baselines) {
    std::snprintf(line, sizeof(line), "| %s | %.4f | %.2fx |\n",
                  b["name"].get<std::string>().c_str(), b["time_ms"].get<double>(),
                  b["speedup"].get<double>());
    md += line;
  }
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

}  // namespace kf::search
