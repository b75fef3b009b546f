// kforge report --html: one page, inline CSS and SVG. Everything from the run is escaped, and
// the page's Content-Security-Policy forbids scripts and every outside load besides, so even a
// slip in escaping could not run code or call out.
#include <algorithm>

#include "web/report_page.h"
#include "web/svg_charts.h"

namespace kf::web {
using json = nlohmann::json;

namespace {

constexpr const char* kCss = R"(
:root{color-scheme:light}
body{margin:0;background:#f3f5f7;color:#1d2125;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1160px;margin:0 auto;padding:18px 20px 40px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px}
header p{margin:2px 0}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 16px;margin:14px 0}
.muted{color:#5f6b76} .state{font-weight:600}
.state-running{color:#1864ab} .state-finished{color:#2b8a3e} .state-stopped{color:#c92a2a}
.row{display:flex;flex-wrap:wrap;gap:18px 34px;align-items:flex-start}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid #eceff2;text-align:left;vertical-align:top}
th{font-weight:600;color:#454f59;background:#f8f9fa} td.num,th.num{text-align:right}
.big{font-size:26px;font-weight:700;color:#2b8a3e}
pre{background:#f6f8fa;border:1px solid #e3e6ea;border-radius:6px;padding:10px;margin:0;
  overflow:auto;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  white-space:pre}
pre.wrap{white-space:pre-wrap;word-break:break-word}
.diff span{display:block} .diff .add{background:#e6ffec} .diff .del{background:#ffebe9}
.diff .gap{background:#eef1f4;color:#5f6b76}
svg{max-width:100%;height:auto;display:block}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
.charts section{margin:0}
footer{color:#5f6b76;font-size:12px;margin-top:20px}
@media print{body{background:#fff} section{break-inside:avoid;border-color:#ccc}}
)";

std::string E(std::string_view s) { return EscapeHtml(s); }

std::string Table(const TextTable& t, std::string_view id = "") {
  std::string out = "<table" + (id.empty() ? "" : " id=\"" + std::string(id) + "\"") + ">\n";
  auto cls = [&](size_t c) {
    return c < t.numeric.size() && t.numeric[c] ? std::string(" class=\"num\"") : "";
  };
  bool header = false;
  for (const auto& h : t.header) header = header || !h.empty();
  if (header) {
    out += "<tr>";
    for (size_t c = 0; c < t.header.size(); ++c)
      out += "<th" + cls(c) + ">" + E(t.header[c]) + "</th>";
    out += "</tr>\n";
  }
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (size_t c = 0; c < row.size(); ++c) {
      out += (c == 0 && !header ? "<th" : "<td" + cls(c)) + std::string(">") + E(row[c]) +
             (c == 0 && !header ? "</th>" : "</td>");
    }
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string Section(std::string_view id, std::string_view title, const std::string& body) {
  return "<section id=\"" + std::string(id) + "\">\n<h2>" + E(title) + "</h2>\n" + body +
         "</section>\n";
}

std::string Header(const ReportData& d) {
  const json& s = d.summary;
  const std::string state = TextOf(s, "state");
  std::string models;
  for (const auto& m : ArrayOf(s, "models")) {
    if (!m.is_string()) continue;
    models += (models.empty() ? "" : ", ") + m.get<std::string>();
  }
  std::string out =
      "<header>\n<h1>" + E(TextOf(s, "task")) + " · " + E(TextOf(s, "strategy")) + "</h1>\n";
  out += "<p>run <b>" + E(TextOf(s, "run")) + "</b> · <span class=\"state state-" +
         (state == "finished" || state == "running" ? state : "stopped") + "\">" + E(StateLine(d)) +
         "</span></p>\n";
  out += "<p class=\"muted\">" + std::to_string(IntOf(s, "candidates")) + " candidates · " +
         std::to_string(IntOf(s, "islands")) +
         " island(s) · models: " + E(models.empty() ? "none" : models) + "</p>\n";
  out += "<p class=\"muted\">task " + E(TextOf(s, "task_path")) + " · run directory " +
         E(TextOf(s, "dir")) + "</p>\n</header>\n";
  return out;
}

std::string Status(const ReportData& d) {
  const json& best = ObjectOf(d.summary, "best");  // empty until a candidate is correct
  std::string body = "<div class=\"row\">\n<div>\n";
  if (!best.empty()) {
    body += "<div class=\"muted\">best: candidate #" + std::to_string(IntOf(best, "id")) +
            "</div>\n<div class=\"big\" id=\"best-speedup\">" +
            E(FormatSpeedup(NumberOf(best, "speedup"))) + "</div>\n";
    body += Table(BaselineTable(d.summary), "baselines");
    if (!ArrayOf(d.summary, "final_comparison").empty()) {
      body +=
          "<div class=\"muted\">final comparison: the fastest candidates and the baselines "
          "timed again together, in alternating rounds on fresh inputs</div>\n" +
          Table(FinalTable(d.summary), "final-comparison");
    }
  } else {
    body += "<p class=\"muted\">No correct candidate yet.</p>\n";
  }
  body += "</div>\n<div>" + Table(StatusTable(d.summary), "budget") + "</div>\n<div>" +
          Table(VerdictTable(d.summary), "verdicts") + "</div>\n</div>\n";
  return Section("status", "Status", body);
}

std::string Winner(const ReportData& d) {
  const json& w = d.winner;
  if (!w.is_object()) {
    return Section("winner", "The winner", "<p class=\"muted\">No correct candidate yet.</p>\n");
  }
  std::string body = "<div class=\"row\">\n<div>" + Table(WinnerFacts(w), "winner-facts") +
                     "</div>\n<div>" + Table(TimingsTable(w), "timings") + "</div>\n</div>\n";
  const std::string message = TextOf(ObjectOf(ObjectOf(w, "result"), "detail"), "message");
  if (!message.empty()) {
    body += "<h3>Verdict detail</h3>\n<pre class=\"wrap\">" + E(message) + "</pre>\n";
  }
  const auto diff = WinnerDiff(w);
  if (!diff.empty()) {
    const json& stat = ObjectOf(w, "diff_stat");
    body += "<h3>Diff against its parent #" + std::to_string(IntOf(w, "parent")) + " (+" +
            std::to_string(IntOf(stat, "added")) + " −" + std::to_string(IntOf(stat, "removed")) +
            ")</h3>\n<pre class=\"diff\">";
    for (const auto& [op, text] : diff) {
      const char* cls = op == '+' ? "add" : op == '-' ? "del" : op == '@' ? "gap" : "ctx";
      body += "<span class=\"" + std::string(cls) + "\">" +
              E(op == '@' ? text : std::string(1, op) + " " + text) + "</span>";
    }
    body += "</pre>\n";
  }
  body += "<h3>Code</h3>\n<pre class=\"code\"><code>" + E(TextOf(w, "code")) + "</code></pre>\n";
  return Section("winner", "The winner: candidate #" + std::to_string(IntOf(w, "id")), body);
}

}  // namespace

std::string ReportHtml(const ReportData& d) {
  const json& s = d.summary;
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"kforge report\">\n<title>kforge report: " +
      E(TextOf(s, "task")) + " · " + E(TextOf(s, "run")) + "</title>\n<style>" + kCss +
      "</style>\n</head>\n<body>\n<main>\n";
  html += Header(d);
  html += Status(d);
  html += "<div class=\"charts\">\n";
  html += Section("progress", "Best speedup over evaluations", ProgressSvg(d.progress));
  html += Section("progress-time", "Best speedup over wall time",
                  ProgressSvg(d.progress, YScale::kAuto, ProgressX::kWallTime));
  html += Section("roofline", "Roofline: correct candidates against the measured ceilings",
                  RooflineSvg(d.roofline));
  html += "</div>\n";
  const size_t shown = ArrayOf(d.lineage, "nodes").size();
  const int64_t total = IntOf(d.lineage, "total");
  html += Section(
      "lineage",
      "Lineage (" + std::to_string(shown) + " of " + std::to_string(total) + " candidates" +
          (static_cast<int64_t>(shown) < total ? ": the most recent and the best's ancestors"
                                               : "") +
          ")",
      LineageSvg(d.lineage));
  if (const std::string grid = GridSvg(d.grid); !grid.empty()) {
    html += Section("grid", "MAP-Elites grid: the elite of each cell, per island", grid);
  }
  html += Winner(d);
  const TextTable top = TopTable(d.top);
  html +=
      Section("top", "The " + std::to_string(kReportTopCandidates) + " fastest correct candidates",
              top.rows.empty() ? "<p class=\"muted\">No correct candidate yet.</p>\n"
                               : Table(top, "top-table"));
  html += "<footer>Generated by kforge report at " + E(d.generated_at) +
          ". Hover a dot for its details.</footer>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace kf::web
