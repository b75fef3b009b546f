#include "web/report_suite.h"

#include <cstdio>

#include "search/suite_summary.h"
#include "util/format.h"
#include "web/svg_charts.h"

namespace kf::web {
using json = nlohmann::json;

namespace {

using util::Fmt;

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

const json* BaselineOf(const json& row, const std::string& name) {
  for (const auto& b : row["baselines"]) {
    if (b["name"] == name) return &b;
  }
  return nullptr;
}

std::string HtmlTable(const TextTable& t, int link_column, bool links) {
  const auto E = [](const std::string& s) { return EscapeHtml(s); };
  std::string out = "<table>\n<tr>";
  for (size_t c = 0; c < t.header.size(); ++c) {
    out += std::string(c < t.numeric.size() && t.numeric[c] ? "<th class=\"num\">" : "<th>") +
           E(t.header[c]) + "</th>";
  }
  out += "</tr>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (size_t c = 0; c < row.size(); ++c) {
      std::string cell = E(row[c]);
      // A problem's name is its run directory's: links go to its own report.
      if (links && static_cast<int>(c) == link_column) {
        cell = "<a href=\"" + E(row[c]) + "/report.html\">" + cell + "</a>";
      }
      out += std::string(c < t.numeric.size() && t.numeric[c] ? "<td class=\"num\">" : "<td>") +
             cell + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

TextTable SuiteProblemsTable(const json& s) {
  TextTable t;
  t.header = {"problem", "verdict", "attempts", "first correct", "winner ms"};
  t.numeric = {false, false, true, true, true};
  const std::vector<std::string> names = s.value("baselines", std::vector<std::string>{});
  for (const auto& n : names) {
    t.header.insert(t.header.end(), {n + " ms", "vs " + n});
    t.numeric.insert(t.numeric.end(), {true, true});
  }
  t.header.push_back("winner's model");
  t.numeric.push_back(false);
  for (const auto& r : s["problems"]) {
    const bool won = r["winner"].is_object();
    std::vector<std::string> row = {
        Str(r, "name"), Str(r, "verdict"), std::to_string(r.value("attempts", int64_t{0})),
        r["first_correct"].is_null() ? "-" : std::to_string(r["first_correct"].get<int64_t>()),
        won ? Fmt("%.4f", r["winner"]["time_ms"].get<double>()) : "-"};
    for (const auto& n : names) {
      const json* b = BaselineOf(r, n);
      row.push_back(b ? Fmt("%.4f", (*b)["time_ms"].get<double>()) : "-");
      row.push_back(b ? Fmt("%.2fx", (*b)["speedup"].get<double>()) : "-");
    }
    row.push_back(won ? Str(r["winner"], "model") : "-");
    t.rows.push_back(row);
  }
  return t;
}

TextTable SuiteFastTable(const json& s) {
  TextTable t;
  t.header = {"baseline", "fast_0", "fast_1", "fast_1.5", "fast_2", "geomean", "over winners"};
  t.numeric = {false, true, true, true, true, true, true};
  for (const auto& n : s.value("baselines", std::vector<std::string>{})) {
    std::vector<std::string> row = {n};
    for (const auto& p : search::FastPKeys()) {
      row.push_back(Fmt("%.2f", s["fast_p"][n][p].get<double>()));
    }
    const json& g = s["geomean"][n];
    row.push_back(Fmt("%.2fx", g["failures_as_1x"].get<double>()));
    row.push_back(Fmt("%.2fx", g["winners_only"].get<double>()) + " (" +
                  std::to_string(g["winners"].get<int64_t>()) + ")");
    t.rows.push_back(row);
  }
  return t;
}

TextTable SuiteModelsTable(const json& s) {
  TextTable t;
  const int k_max = s.value("attempts", 5);
  t.header = {"model", "problems"};
  for (int k = 1; k <= k_max; ++k) t.header.push_back("within " + std::to_string(k));
  t.header.insert(t.header.end(), {"fastest", "calls", "tokens", "cost"});
  t.numeric.assign(t.header.size(), true);
  t.numeric[0] = false;
  for (const auto& m : s["models"]) {
    std::vector<std::string> row = {Str(m, "model"), std::to_string(m["problems"].get<int64_t>())};
    for (const auto& w : m["correct_within"]) row.push_back(Fmt("%.2f", w.get<double>()));
    row.push_back(std::to_string(m["fastest"].get<int64_t>()));
    row.push_back(std::to_string(m["calls"].get<int64_t>()));
    row.push_back(
        std::to_string(m["prompt_tokens"].get<int64_t>() + m["completion_tokens"].get<int64_t>()));
    row.push_back(Fmt("$%.4f", m["cost_usd"].get<double>()));
    t.rows.push_back(row);
  }
  return t;
}

std::string SuiteReportHtml(const json& s, bool run_reports) {
  const auto E = [](const std::string& x) { return EscapeHtml(x); };
  std::string states;
  for (const auto& [state, n] : s["states"].items()) {
    states += (states.empty() ? "" : ", ") + std::to_string(n.get<int64_t>()) + " " + state;
  }
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n<meta name=\"generator\" content=\"kforge report\">\n"
      "<title>kforge suite: " +
      E(Str(s, "suite")) +
      "</title>\n<style>body{font:14px/1.45 system-ui,sans-serif;margin:20px;color:#1d2125}"
      "table{border-collapse:collapse;margin:8px 0 18px}th,td{padding:3px 10px;border-bottom:"
      "1px solid #e3e6ea;text-align:left}.num{text-align:right}th{background:#f6f8fa}"
      "</style>\n</head>\n<body>\n<h1>kforge suite: " +
      E(Str(s, "suite")) + "</h1>\n<p id=\"suite-state\">" + std::to_string(s["problems"].size()) +
      " problems: " + E(states) + "; " + std::to_string(s["totals"]["calls"].get<int64_t>()) +
      " model calls, " + std::to_string(s["totals"]["tokens"].get<int64_t>()) + " tokens, " +
      Fmt("$%.4f", s["totals"]["cost_usd"].get<double>()) + "</p>\n<h2>Problems</h2>\n" +
      HtmlTable(SuiteProblemsTable(s), 0, run_reports);
  for (const auto& r : s["problems"]) {
    if (Str(r, "state") == "failed") {
      html +=
          "<p>" + E(Str(r, "name")) + " failed: <code>" + E(Str(r, "message")) + "</code></p>\n";
    }
  }
  html +=
      "<h2>fast_p and geometric means</h2>\n<p>fast_p: the share of all problems whose "
      "winner is correct and more than p times as fast as the baseline (p = 0: a model's "
      "program was correct); a problem without a winner counts as 1x in the geometric "
      "mean.</p>\n" +
      HtmlTable(SuiteFastTable(s), -1, false) + "<h2>Models</h2>\n" +
      HtmlTable(SuiteModelsTable(s), -1, false) + "</body>\n</html>\n";
  return html;
}

}  // namespace kf::web
