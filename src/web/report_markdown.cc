// kforge report --md: markdown with the charts as SVG files beside it. Text from the run goes
// into tables and lines through MarkdownText (so a name cannot open a link, an HTML tag or a
// table cell), and code into fences longer than any run of backticks in it.
#include <algorithm>
#include <cctype>

#include "web/report_page.h"
#include "web/svg_charts.h"

namespace kf::web {
using json = nlohmann::json;

namespace {

std::string Table(const TextTable& t) {
  std::string out = "|";
  for (const auto& h : t.header) out += " " + MarkdownText(h) + " |";
  out += "\n|";
  for (size_t c = 0; c < t.header.size(); ++c) {
    out += c < t.numeric.size() && t.numeric[c] ? " ---: |" : " --- |";
  }
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& cell : row) out += " " + MarkdownText(cell) + " |";
    out += "\n";
  }
  return out + "\n";
}

std::string Fenced(std::string_view code, std::string_view language) {
  const std::string fence = MarkdownFence(code);
  std::string out = fence + std::string(language) + "\n" + std::string(code);
  if (!code.empty() && code.back() != '\n') out += "\n";
  return out + fence + "\n\n";
}

// A fence's info string from the candidate file's extension: letters only.
std::string Language(const json& winner) {
  const std::string ext = TextOf(winner, "language");
  if (ext.empty() || ext == ".c") return "c";
  if (ext == ".py") return "python";
  if (ext == ".cu") return "cuda";
  if (ext == ".cc" || ext == ".cpp") return "cpp";
  std::string out;
  for (char c : ext) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

}  // namespace

std::string MarkdownFence(std::string_view code) {
  size_t longest = 0, run = 0;
  for (char c : code) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

std::string MarkdownText(std::string_view text) {
  // EscapeHtml first (entities, and no control characters or broken UTF-8), then the markdown
  // punctuation outside the entities it wrote: its only '&' are theirs.
  std::string escaped = EscapeHtml(text);
  // Quotes mean nothing to markdown: keep them readable.
  for (const auto& [entity, quote] : {std::pair{"&#39;", "'"}, std::pair{"&quot;", "\""}}) {
    for (size_t at; (at = escaped.find(entity)) != std::string::npos;) {
      escaped.replace(at, std::string_view(entity).size(), quote);
    }
  }
  std::string out;
  bool in_entity = false;
  for (char c : escaped) {
    in_entity = c == '&' || (in_entity && c != ';');
    if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (!in_entity && std::string_view("\\`*_[]|~").find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

MarkdownReport ReportMarkdown(const ReportData& d) {
  const json& s = d.summary;
  MarkdownReport report;
  std::string& md = report.markdown;
  md += "# kforge report: " + MarkdownText(TextOf(s, "task")) + " · " +
        MarkdownText(TextOf(s, "strategy")) + "\n\n";
  std::string models;
  for (const auto& m : ArrayOf(s, "models")) {
    if (m.is_string()) models += (models.empty() ? "" : ", ") + m.get<std::string>();
  }
  md += "- run: **" + MarkdownText(TextOf(s, "run")) + "** (" + MarkdownText(TextOf(s, "dir")) +
        ")\n- state: " + MarkdownText(StateLine(d)) +
        "\n- task: " + MarkdownText(TextOf(s, "task_path")) +
        "\n- models: " + MarkdownText(models.empty() ? "none" : models) +
        "\n- candidates: " + std::to_string(IntOf(s, "candidates")) + " on " +
        std::to_string(IntOf(s, "islands")) + " island(s)\n\n";

  md += "## Status\n\n";
  if (const json& best = ObjectOf(s, "best"); !best.empty()) {
    md += "Best: candidate #" + std::to_string(IntOf(best, "id")) + ", **" +
          FormatSpeedup(NumberOf(best, "speedup")) + "**\n\n" + Table(BaselineTable(s));
    if (!ArrayOf(s, "final_comparison").empty()) {
      md +=
          "Final comparison: the fastest candidates and the baselines timed again together, "
          "in alternating rounds on fresh inputs; the winner and its speedups come from "
          "here.\n\n" +
          Table(FinalTable(s));
    }
  } else {
    md += "No correct candidate yet.\n\n";
  }
  md += Table(StatusTable(s)) + Table(VerdictTable(s));

  auto chart = [&](const std::string& file, const std::string& title, std::string svg) {
    report.images.push_back({file, std::move(svg)});
    md += "## " + title + "\n\n![" + title + "](" + file + ")\n\n";
  };
  chart("progress.svg", "Best speedup over evaluations", ProgressSvg(d.progress));
  chart("progress_time.svg", "Best speedup over wall time",
        ProgressSvg(d.progress, YScale::kAuto, ProgressX::kWallTime));
  chart("lineage.svg", "Lineage", LineageSvg(d.lineage));
  chart("roofline.svg", "Roofline", RooflineSvg(d.roofline));
  if (std::string grid = GridSvg(d.grid); !grid.empty()) {
    chart("grid.svg", "MAP-Elites grid", std::move(grid));
  }

  const json& w = d.winner;
  if (w.is_object()) {
    md += "## The winner: candidate #" + std::to_string(IntOf(w, "id")) + "\n\n";
    md += Table(WinnerFacts(w)) + Table(TimingsTable(w));
    const std::string message = TextOf(ObjectOf(ObjectOf(w, "result"), "detail"), "message");
    if (!message.empty()) md += "Verdict detail:\n\n" + Fenced(message, "text");
    const auto diff = WinnerDiff(w);
    if (!diff.empty()) {
      std::string text;
      for (const auto& [op, line] : diff) {
        text += op == '@' ? "@@ " + line + " @@\n" : std::string(1, op) + line + "\n";
      }
      md += "Diff against its parent #" + std::to_string(IntOf(w, "parent")) + ":\n\n" +
            Fenced(text, "diff");
    }
    md += "Code:\n\n" + Fenced(TextOf(w, "code"), Language(w));
  } else {
    md += "## The winner\n\nNo correct candidate yet.\n\n";
  }

  md += "## The " + std::to_string(kReportTopCandidates) + " fastest correct candidates\n\n";
  const TextTable top = TopTable(d.top);
  md += top.rows.empty() ? "No correct candidate yet.\n\n" : Table(top);
  md += "_Generated by kforge report at " + MarkdownText(d.generated_at) + "._\n";
  return report;
}

}  // namespace kf::web
