// The documents of kforge report (docs/dashboard.md): one run's status, charts, winner and
// fastest candidates, as a single self-contained HTML page (inline CSS and SVG, no script,
// nothing fetched) or as markdown with its charts as SVG files beside it. Built from RunView's
// answers only, so a report of a run still being written shows what is there and says so.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "web/run_view.h"

namespace kf::web {

// Everything a report shows, gathered from a RunView once.
struct ReportData {
  nlohmann::json summary, progress, lineage, grid, roofline;
  nlohmann::json top;     // Candidates(): the fastest correct ones, fastest first
  nlohmann::json winner;  // Candidate() of the best, or null when none is correct
  bool has_report_json = false;
  std::string stop_reason;   // report.json's "stopped", when the run has finished
  std::string generated_at;  // UTC, ISO 8601
};

inline constexpr int kReportTopCandidates = 20;
inline constexpr int kReportLineageNodes = 2000;

// Error: the run's store could not be read.
Result<ReportData> GatherReport(RunView& view);

std::string ReportHtml(const ReportData& data);

struct MarkdownReport {
  std::string markdown;
  // SVG files to write beside the markdown: {file name, content}; the markdown links them
  // by these relative names.
  std::vector<std::pair<std::string, std::string>> images;
};
MarkdownReport ReportMarkdown(const ReportData& data);

// ---- Pieces both documents use (report_page.cc) ----------------------------------------------

// A table of plain (unescaped) text cells; each renderer escapes for its format.
struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;  // per column: right-aligned
};

TextTable StatusTable(const nlohmann::json& summary);    // budget against spent
TextTable VerdictTable(const nlohmann::json& summary);   // count per verdict
TextTable BaselineTable(const nlohmann::json& summary);  // the best against each baseline
TextTable WinnerFacts(const nlohmann::json& winner);     // key, value
// The final comparison: each program timed side by side at the end of the run, the winner marked.
TextTable FinalTable(const nlohmann::json& summary);
TextTable TimingsTable(const nlohmann::json& winner);  // median, p10, p90, runs, CI
TextTable TopTable(const nlohmann::json& top);

// The winner's unified diff against its parent: {op, text} with op ' ', '+', '-', or '@' for
// a run of unchanged lines left out (its text says how many); empty without a parent.
std::vector<std::pair<char, std::string>> WinnerDiff(const nlohmann::json& winner, int context = 3);

// One line saying the run's state, and why it ended or that it has not.
std::string StateLine(const ReportData& data);

// Markdown: a code fence longer than any run of backticks in `code` (at least three).
std::string MarkdownFence(std::string_view code);
// Markdown text for a table cell or a line: HTML-special characters as entities, markdown
// punctuation backslash-escaped, line breaks as spaces.
std::string MarkdownText(std::string_view text);

}  // namespace kf::web
