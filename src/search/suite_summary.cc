#include "search/suite_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "util/files.h"
#include "util/format.h"

namespace kf::search {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using util::Fmt;

// Text from a run or a model as one markdown table cell: no markup, no line breaks.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else if (std::string_view("|\\`*_[]#!").find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

// The winner's speedup against each baseline, as the run's report states it; the first
// baseline ("initial" in report.json) named for what it timed (the initial program, or
// PyTorch eager).
json BaselinesOf(const json& report) {
  json out = json::array();
  if (!report.contains("baselines") || !report["baselines"].is_array()) return out;
  const json& best = report.value("best", json::object());
  const json& result = best.is_object() ? best.value("result", json::object()) : json::object();
  const std::string first =
      result.is_object() ? result.value("baseline_name", "initial program") : "initial program";
  bool at_first = true;
  for (const auto& b : report["baselines"]) {
    if (!b.is_object()) continue;
    std::string name = b.value("name", "");
    if (at_first && name == "initial") name = first;
    at_first = false;
    out.push_back({{"name", name},
                   {"time_ms", b.value("time_ms", 0.0)},
                   {"speedup", b.value("speedup", 0.0)}});
  }
  return out;
}

// One problem's row of the summary.
json ProblemRow(const ProblemOutcome& p) {
  json row = {{"name", p.name},       {"state", p.state},
              {"message", p.message}, {"run_dir", p.run_dir.string()},
              {"attempts", 0},        {"first_correct", nullptr},
              {"winner", nullptr},    {"baselines", json::array()}};
  int64_t attempts = 0;
  std::string last_verdict;
  for (const auto& a : p.attempts) {
    if (a.model.empty()) continue;
    ++attempts;
    last_verdict = a.verdict;
    if (a.verdict == "ok" && row["first_correct"].is_null()) row["first_correct"] = attempts;
  }
  row["attempts"] = attempts;
  row["task"] = p.report.value("task", p.name);
  const json& best = p.report.value("best", json::object());
  const int64_t best_id = best.is_object() ? best.value("id", int64_t{0}) : 0;
  for (const auto& a : p.attempts) {
    if (a.id != best_id || a.model.empty() || a.verdict != "ok") continue;
    // The report's time: from the final comparison when there was one.
    row["winner"] = {
        {"id", a.id}, {"model", a.model}, {"time_ms", best.value("time_ms", a.time_ms)}};
    row["baselines"] = BaselinesOf(p.report);
  }
  // The problem's verdict in a word: its winner, a correct program that was not faster, or
  // what its last attempt (or the run itself) ended with.
  if (!row["winner"].is_null()) {
    row["verdict"] = "faster";
  } else if (!row["first_correct"].is_null()) {
    row["verdict"] = "correct, not faster";
  } else if (p.state == "failed") {
    row["verdict"] = "run failed";
  } else {
    row["verdict"] = last_verdict.empty() ? "no attempt" : last_verdict;
  }
  return row;
}

struct ModelTally {
  int64_t problems = 0, fastest = 0;
  std::vector<int64_t> within;  // problems correct within k attempts, k = 1..K
  store::ModelSpend spend;
};

// Per model: correct within k attempts, winners, and what it cost.
json ModelsJson(const std::vector<ProblemOutcome>& problems, const json& rows, int k_max) {
  std::vector<std::string> order;
  std::map<std::string, ModelTally> tally;
  auto of = [&](const std::string& m) -> ModelTally& {
    if (!tally.count(m)) {
      order.push_back(m);
      tally[m].within.assign(k_max, 0);
      tally[m].spend.model = m;
    }
    return tally[m];
  };
  for (size_t i = 0; i < problems.size(); ++i) {
    std::map<std::string, int64_t> tried, first_ok;
    for (const auto& a : problems[i].attempts) {
      if (a.model.empty()) continue;
      of(a.model);
      const int64_t n = ++tried[a.model];
      if (a.verdict == "ok" && !first_ok.count(a.model)) first_ok[a.model] = n;
    }
    for (const auto& [m, n] : tried) {
      ModelTally& t = of(m);
      ++t.problems;
      if (!first_ok.count(m)) continue;
      for (int k = 1; k <= k_max; ++k) t.within[k - 1] += first_ok[m] <= k ? 1 : 0;
    }
    if (rows[i]["winner"].is_object()) ++of(rows[i]["winner"]["model"].get<std::string>()).fastest;
    for (const auto& s : problems[i].spend) {
      ModelTally& t = of(s.model);
      t.spend.calls += s.calls;
      t.spend.errors += s.errors;
      t.spend.prompt_tokens += s.prompt_tokens;
      t.spend.completion_tokens += s.completion_tokens;
      t.spend.cost_usd += s.cost_usd;
    }
  }
  json out = json::array();
  for (const auto& m : order) {
    const ModelTally& t = tally[m];
    json within = json::array();
    for (int64_t c : t.within) within.push_back(t.problems ? double(c) / t.problems : 0.0);
    out.push_back({{"model", m},
                   {"problems", t.problems},
                   {"correct_within", within},
                   {"fastest", t.fastest},
                   {"calls", t.spend.calls},
                   {"errors", t.spend.errors},
                   {"prompt_tokens", t.spend.prompt_tokens},
                   {"completion_tokens", t.spend.completion_tokens},
                   {"cost_usd", t.spend.cost_usd}});
  }
  return out;
}

// fast_p and geometric means against each baseline named by any problem's winner.
void BaselineFigures(const json& rows, json* summary) {
  std::vector<std::string> names;
  for (const auto& r : rows) {
    for (const auto& b : r["baselines"]) {
      const std::string n = b["name"].get<std::string>();
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  const double total = static_cast<double>(rows.size());
  int64_t correct = 0;
  for (const auto& r : rows) correct += r["first_correct"].is_null() ? 0 : 1;
  json fast = json::object(), geo = json::object();
  for (const auto& name : names) {
    json f = json::object();
    for (const auto& p : FastPKeys()) f[p] = 0.0;
    f["0"] = total > 0 ? correct / total : 0.0;
    double log_all = 0, log_won = 0;
    int64_t won = 0;
    for (const auto& r : rows) {
      double s = 0;
      for (const auto& b : r["baselines"]) {
        if (b["name"] == name) s = b["speedup"].get<double>();
      }
      log_all += std::log(s > 0 ? s : 1.0);
      if (s <= 0) continue;
      log_won += std::log(s);
      ++won;
      for (const auto& p : FastPKeys()) {
        if (p != "0" && s > std::stod(p)) f[p] = f[p].get<double>() + 1 / total;
      }
    }
    fast[name] = f;
    geo[name] = {{"failures_as_1x", total > 0 ? std::exp(log_all / total) : 0.0},
                 {"winners_only", won ? std::exp(log_won / won) : 0.0},
                 {"winners", won}};
  }
  (*summary)["baselines"] = names;
  (*summary)["fast_p"] = fast;
  (*summary)["geomean"] = geo;
}

}  // namespace

Status ReadOutcome(ProblemOutcome* p) {
  std::error_code ec;
  const fs::path report = p->run_dir / "report.json";
  if (fs::is_regular_file(report, ec)) {
    json j = json::parse(ReadFile(report), nullptr, false);
    if (!j.is_discarded() && j.is_object()) p->report = j;
  }
  if (!fs::is_regular_file(p->run_dir / "run.sqlite", ec)) return Status::Ok();
  auto reader = store::RunReader::Open(p->run_dir);
  if (!reader.ok()) return reader.status();
  auto attempts = (*reader)->Attempts();
  if (!attempts.ok()) return attempts.status();
  p->attempts = std::move(*attempts);
  auto spend = (*reader)->SpendByModel();
  if (!spend.ok()) return spend.status();
  p->spend = std::move(*spend);
  return Status::Ok();
}

json SummarizeSuite(const std::string& name, const std::vector<ProblemOutcome>& problems,
                    int attempts) {
  json rows = json::array();
  std::map<std::string, int64_t> states;
  for (const auto& p : problems) {
    rows.push_back(ProblemRow(p));
    ++states[p.state];
  }
  json summary = {{"suite", name}, {"attempts", attempts}, {"problems", rows}};
  summary["states"] = states;
  BaselineFigures(rows, &summary);
  summary["models"] = ModelsJson(problems, rows, attempts);
  double cost = 0;
  int64_t tokens = 0, calls = 0;
  for (const auto& m : summary["models"]) {
    cost += m["cost_usd"].get<double>();
    tokens += m["prompt_tokens"].get<int64_t>() + m["completion_tokens"].get<int64_t>();
    calls += m["calls"].get<int64_t>();
  }
  summary["totals"] = {
      {"problems", problems.size()}, {"calls", calls}, {"tokens", tokens}, {"cost_usd", cost}};
  return summary;
}

std::string SuiteMarkdown(const json& s) {
  std::ostringstream md;
  const json& states = s["states"];
  md << "# kforge suite: " << Cell(s["suite"].get<std::string>()) << "\n\n"
     << s["problems"].size() << " problems";
  for (const auto& [state, n] : states.items()) md << ", " << n.get<int64_t>() << " " << state;
  md << "; " << s["totals"]["calls"].get<int64_t>() << " model calls, "
     << s["totals"]["tokens"].get<int64_t>() << " tokens, "
     << Fmt("$%.4f", s["totals"]["cost_usd"].get<double>()) << ".\n\n";
  const std::vector<std::string> names = s["baselines"];
  md << "## Problems\n\n| problem | verdict | attempts | first correct | winner ms |";
  for (const auto& n : names) md << " " << Cell(n) << " ms | vs " << Cell(n) << " |";
  md << " winner's model |\n|---|---|---:|---:|---:|";
  for (size_t i = 0; i < names.size(); ++i) md << "---:|---:|";
  md << "---|\n";
  for (const auto& r : s["problems"]) {
    const bool won = r["winner"].is_object();
    md << "| " << Cell(r["name"].get<std::string>()) << " | " << Cell(r["verdict"]) << " | "
       << r["attempts"].get<int64_t>() << " | "
       << (r["first_correct"].is_null() ? "-" : std::to_string(r["first_correct"].get<int64_t>()))
       << " | " << (won ? Fmt("%.4f", r["winner"]["time_ms"].get<double>()) : "-") << " |";
    for (const auto& n : names) {
      const json* b = nullptr;
      for (const auto& x : r["baselines"]) {
        if (x["name"] == n) b = &x;
      }
      if (b) {
        md << " " << Fmt("%.4f", (*b)["time_ms"].get<double>()) << " | "
           << Fmt("%.2fx", (*b)["speedup"].get<double>()) << " |";
      } else {
        md << " - | - |";
      }
    }
    md << " " << (won ? Cell(r["winner"]["model"].get<std::string>()) : "-") << " |\n";
  }
  for (const auto& r : s["problems"]) {
    if (r["state"] == "failed") {
      md << "\n- " << Cell(r["name"].get<std::string>())
         << " failed: " << Cell(r["message"].get<std::string>()) << "\n";
    }
  }
  if (!names.empty()) {
    md << "\n## fast_p and geometric means\n\nfast_p: the share of all problems whose winner is "
          "correct and more than p times as fast as the baseline (p = 0: a model's program was "
          "correct). Geometric mean of the winners' speedups, a problem without a winner counted "
          "as 1x.\n\n| baseline | fast_0 | fast_1 | fast_1.5 | fast_2 | geomean | over winners "
          "|\n|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& n : names) {
      const json& f = s["fast_p"][n];
      const json& g = s["geomean"][n];
      md << "| " << Cell(n);
      for (const auto& p : FastPKeys()) md << " | " << Fmt("%.2f", f[p].get<double>());
      md << " | " << Fmt("%.2fx", g["failures_as_1x"].get<double>()) << " | "
         << Fmt("%.2fx", g["winners_only"].get<double>()) << " (" << g["winners"].get<int64_t>()
         << ") |\n";
    }
  }
  const int k_max = s["attempts"].get<int>();
  md << "\n## Models\n\nCorrect within k attempts: the share of the problems a model was asked "
        "about where one of its first k programs was correct.\n\n| model | problems |";
  for (int k = 1; k <= k_max; ++k) md << " within " << k << " |";
  md << " fastest | calls | tokens | cost |\n|---|---:|";
  for (int k = 1; k <= k_max; ++k) md << "---:|";
  md << "---:|---:|---:|---:|\n";
  for (const auto& m : s["models"]) {
    md << "| " << Cell(m["model"].get<std::string>()) << " | " << m["problems"].get<int64_t>()
       << " |";
    for (const auto& w : m["correct_within"]) md << " " << Fmt("%.2f", w.get<double>()) << " |";
    md << " " << m["fastest"].get<int64_t>() << " | " << m["calls"].get<int64_t>() << " | "
       << m["prompt_tokens"].get<int64_t>() + m["completion_tokens"].get<int64_t>() << " | "
       << Fmt("$%.4f", m["cost_usd"].get<double>()) << " |\n";
  }
  return md.str();
}

}  // namespace kf::search
