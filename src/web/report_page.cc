#include "web/report_page.h"

#include <algorithm>
#include <ctime>

#include "util/files.h"
#include "web/svg_charts.h"

namespace kf::web {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string Id(int64_t id) { return id > 0 ? "#" + std::to_string(id) : "–"; }

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> TimingRow(const std::string& name, const json& t) {
  return {name,
          FormatMs(NumberOf(t, "median")),
          FormatMs(NumberOf(t, "p10")),
          FormatMs(NumberOf(t, "p90")),
          std::to_string(IntOf(t, "runs")),
          "±" + FormatFixed(100 * NumberOf(t, "ci95_rel"), 1) + "%"};
}

// Moves a view's answer into `out`; false, with `st` set, when the view failed.
bool Take(Result<json> got, json* out, Status* st) {
  if (!got.ok()) {
    *st = got.status();
    return false;
  }
  *out = std::move(*got);
  return true;
}

}  // namespace

Result<ReportData> GatherReport(RunView& view) {
  ReportData d;
  Status st;
  const CandidateQuery fastest{
      .offset = 0, .limit = kReportTopCandidates, .verdict = "ok", .island = -1, .sort = "speedup"};
  if (!Take(view.Summary(), &d.summary, &st) || !Take(view.Progress(), &d.progress, &st) ||
      !Take(view.Lineage(-1, kReportLineageNodes), &d.lineage, &st) ||
      !Take(view.Grid(), &d.grid, &st) || !Take(view.Roofline(), &d.roofline, &st) ||
      !Take(view.Candidates(fastest), &d.top, &st)) {
    return st;
  }
  d.winner = nullptr;
  if (const json& best = ObjectOf(d.summary, "best");
      !best.empty() && !Take(view.Candidate(IntOf(best, "id")), &d.winner, &st)) {
    return st;
  }
  const std::string report = ReadFile(view.dir() / "report.json");
  d.has_report_json = !report.empty();
  if (json r = json::parse(report, nullptr, false); !r.is_discarded() && r.is_object()) {
    d.stop_reason = TextOf(r, "stopped");
  }
  d.generated_at = UtcNow();
  return d;
}

TextTable StatusTable(const json& s) {
  const json& budget = ObjectOf(s, "budget");
  const json& spent = ObjectOf(s, "spent");
  auto limit = [](double v, const std::string& text) { return v > 0 ? text : "no limit"; };
  TextTable t{{"", "budget", "spent"}, {}, {false, true, true}};
  t.rows.push_back({"evaluations",
                    limit(NumberOf(budget, "evals"), std::to_string(IntOf(budget, "evals"))),
                    std::to_string(IntOf(spent, "evals"))});
  // The token budget lives in the models' configuration, which the store does not keep.
  t.rows.push_back(
      {"tokens", NumberOf(budget, "tokens") > 0 ? std::to_string(IntOf(budget, "tokens")) : "–",
       std::to_string(IntOf(spent, "prompt_tokens") + IntOf(spent, "completion_tokens")) + " (" +
           std::to_string(IntOf(spent, "prompt_tokens")) + " in, " +
           std::to_string(IntOf(spent, "completion_tokens")) + " out)"});
  t.rows.push_back({"model calls", "–",
                    std::to_string(IntOf(spent, "llm_calls")) + " (" +
                        std::to_string(IntOf(spent, "llm_errors")) + " failed)"});
  t.rows.push_back(
      {"cost (USD)",
       limit(NumberOf(budget, "cost_usd"), "$" + FormatFixed(NumberOf(budget, "cost_usd"), 2)),
       "$" + FormatFixed(NumberOf(spent, "cost_usd"), 4)});
  t.rows.push_back({"time",
                    limit(NumberOf(budget, "time_s"), FormatDuration(NumberOf(budget, "time_s"))),
                    FormatDuration(NumberOf(spent, "time_s"))});
  return t;
}

TextTable VerdictTable(const json& s) {
  std::vector<std::pair<int64_t, std::string>> counts;
  int64_t total = 0;
  for (const auto& [verdict, n] : ObjectOf(s, "verdicts").items()) {
    const int64_t count = n.is_number() ? n.get<int64_t>() : 0;
    counts.push_back({-count, verdict});
    total += count;
  }
  std::sort(counts.begin(), counts.end());
  TextTable t{{"verdict", "candidates"}, {}, {false, true}};
  for (const auto& [neg, verdict] : counts) t.rows.push_back({verdict, std::to_string(-neg)});
  t.rows.push_back({"total", std::to_string(total)});
  return t;
}

TextTable BaselineTable(const json& s) {
  TextTable t{{"against", "its time", "the best's time", "speedup"}, {}, {false, true, true, true}};
  const json& best = ObjectOf(s, "best");
  for (const auto& b : ArrayOf(best, "baselines")) {
    t.rows.push_back({TextOf(b, "name"), FormatMs(NumberOf(b, "time_ms")),
                      FormatMs(NumberOf(best, "time_ms")), FormatSpeedup(NumberOf(b, "speedup"))});
  }
  return t;
}

TextTable FinalTable(const json& s) {
  TextTable t{{"program", "median", "95% interval", "speedup vs the first baseline", ""},
              {},
              {false, true, true, true, false}};
  for (const auto& p : ArrayOf(s, "final_comparison")) {
    const bool baseline = p.value("baseline", false);
    const std::string name = baseline ? TextOf(p, "name") : Id(IntOf(p, "candidate_id"));
    if (!TextOf(p, "failure").empty()) {
      t.rows.push_back({name, "", "", "", "failed: " + TextOf(p, "failure")});
      continue;
    }
    const json& ci = p.contains("ci_ms") ? p["ci_ms"] : json::array();
    const json& sci = p.contains("speedup_ci") ? p["speedup_ci"] : json::array();
    const bool has_ci = ci.is_array() && ci.size() == 2;
    const bool has_sci = sci.is_array() && sci.size() == 2;
    std::string speedup = FormatSpeedup(NumberOf(p, "speedup"));
    if (has_sci) {
      speedup += " [" + FormatFixed(sci[0].get<double>(), 2) + ", " +
                 FormatFixed(sci[1].get<double>(), 2) + "]";
    }
    if (!baseline && !p.value("significant", false)) speedup += " (not significant)";
    t.rows.push_back(
        {name, FormatMs(NumberOf(p, "median_ms")),
         has_ci ? FormatMs(ci[0].get<double>()) + " - " + FormatMs(ci[1].get<double>()) : "",
         speedup, p.value("winner", false) ? "winner" : ""});
  }
  return t;
}

TextTable WinnerFacts(const json& w) {
  TextTable t{{"", ""}, {}, {false, false}};
  const json& result = ObjectOf(w, "result");
  t.rows.push_back({"candidate", Id(IntOf(w, "id"))});
  t.rows.push_back({"verdict", TextOf(w, "verdict")});
  t.rows.push_back(
      {"speedup", FormatSpeedup(NumberOf(w, "speedup")) + " against " +
                      (TextOf(result, "baseline_name").empty() ? std::string("the initial program")
                                                               : TextOf(result, "baseline_name"))});
  for (const auto& b : ArrayOf(result, "baselines")) {
    t.rows.push_back({"speedup vs " + TextOf(b, "name"), FormatSpeedup(NumberOf(b, "speedup"))});
  }
  t.rows.push_back({"time (median)", FormatMs(NumberOf(w, "time_ms"))});
  const json& roof = ObjectOf(result, "roofline");
  if (!roof.empty()) {
    t.rows.push_back(
        {"roofline", FormatFixed(100 * NumberOf(roof, "fraction"), 1) + "% of the roof · floor " +
                         FormatMs(NumberOf(roof, "floor_ms")) + " · " +
                         FormatFixed(NumberOf(roof, "achieved_gflops"), 2) + " GFLOP/s · " +
                         FormatFixed(NumberOf(roof, "achieved_gbps"), 2) + " GB/s"});
  }
  t.rows.push_back({"origin", TextOf(w, "origin") + " · " + TextOf(w, "strategy") + " · round " +
                                  std::to_string(IntOf(w, "round")) + " · island " +
                                  std::to_string(IntOf(w, "island"))});
  const int64_t parent = IntOf(w, "parent");
  t.rows.push_back({"parent", parent > 0 ? Id(parent) + " (" + TextOf(w, "parent_verdict") + ", " +
                                               FormatSpeedup(NumberOf(w, "parent_speedup")) + ")"
                                         : "none (the starting program)"});
  if (w.contains("params") && w["params"].is_object() && !w["params"].empty()) {
    t.rows.push_back({"parameters", w["params"].dump()});
  }
  if (const json& llm = ObjectOf(w, "llm"); !llm.empty()) {
    t.rows.push_back(
        {"model", TextOf(llm, "model").empty() ? TextOf(llm, "provider") : TextOf(llm, "model")});
  }
  t.rows.push_back({"evaluated in", FormatFixed(NumberOf(w, "eval_seconds"), 2) + " s"});
  return t;
}

TextTable TimingsTable(const json& w) {
  TextTable t{{"program", "median", "p10", "p90", "runs", "95% CI"},
              {},
              {false, true, true, true, true, true}};
  const json& result = ObjectOf(w, "result");
  if (!ObjectOf(result, "time_ms").empty()) {
    t.rows.push_back(
        TimingRow("this candidate (" + Id(IntOf(w, "id")) + ")", ObjectOf(result, "time_ms")));
  }
  if (!ObjectOf(result, "baseline").empty()) {
    const std::string name = TextOf(result, "baseline_name");
    t.rows.push_back(
        TimingRow(name.empty() ? "initial program" : name, ObjectOf(result, "baseline")));
  }
  for (const auto& b : ArrayOf(result, "baselines")) {
    t.rows.push_back(TimingRow(TextOf(b, "name"), ObjectOf(b, "time_ms")));
  }
  return t;
}

TextTable TopTable(const json& top) {
  TextTable t{{"rank", "candidate", "parent", "origin", "island", "speedup", "time", "eval s"},
              {},
              {true, false, false, false, true, true, true, true}};
  // Tune runs: a column of each candidate's parameter values.
  bool params = false;
  for (const auto& r : ArrayOf(top, "rows")) params = params || r.contains("params");
  if (params) {
    t.header.push_back("params");
    t.numeric.push_back(false);
  }
  int rank = 0;
  for (const auto& r : ArrayOf(top, "rows")) {
    t.rows.push_back({std::to_string(++rank), Id(IntOf(r, "id")), Id(IntOf(r, "parent")),
                      TextOf(r, "origin"), std::to_string(IntOf(r, "island")),
                      FormatSpeedup(NumberOf(r, "speedup")), FormatMs(NumberOf(r, "time_ms")),
                      FormatFixed(NumberOf(r, "eval_seconds"), 1)});
    if (!params) continue;
    std::string values;
    if (r.contains("params") && r["params"].is_object()) {
      for (const auto& [name, value] : r["params"].items()) {
        values += (values.empty() ? "" : " ") + name + "=" +
                  (value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    t.rows.back().push_back(values);
  }
  return t;
}

std::vector<std::pair<char, std::string>> WinnerDiff(const json& winner, int context) {
  std::vector<std::pair<char, std::string>> lines;
  for (const auto& d : ArrayOf(winner, "diff")) {
    if (!d.is_array() || d.size() < 2 || !d[0].is_string() || !d[1].is_string()) continue;
    const std::string op = d[0].get<std::string>();
    lines.push_back({op.empty() ? ' ' : op[0], d[1].get<std::string>()});
  }
  // Keep the changed lines and `context` unchanged lines around each; fold the rest.
  std::vector<bool> keep(lines.size(), false);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].first == ' ') continue;
    const size_t from = i >= static_cast<size_t>(context) ? i - context : 0;
    const size_t to = std::min(lines.size(), i + context + 1);
    for (size_t k = from; k < to; ++k) keep[k] = true;
  }
  std::vector<std::pair<char, std::string>> out;
  for (size_t i = 0; i < lines.size();) {
    if (keep[i]) {
      out.push_back(lines[i++]);
      continue;
    }
    size_t j = i;
    while (j < lines.size() && !keep[j]) ++j;
    const size_t n = j - i;
    out.push_back({'@', "… " + std::to_string(n) + " unchanged line" + (n == 1 ? "" : "s") + " …"});
    i = j;
  }
  return out;
}

std::string StateLine(const ReportData& d) {
  const std::string state = TextOf(d.summary, "state");
  if (state == "finished") {
    return "finished" + (d.stop_reason.empty() ? std::string() : ": " + d.stop_reason);
  }
  if (state == "running") {
    return "running: the run has not written its final report.json yet, so this is a snapshot "
           "of the candidates judged so far";
  }
  return "stopped: no new candidate for five minutes and no final report.json (interrupted or "
         "killed); kforge optimize --resume RUN_DIR continues it";
}

}  // namespace kf::web
