// `kforge report RUN_DIR [--html|--md] [--out PATH]`: a self-contained report of one run, for
// sharing (docs/dashboard.md). HTML: one file with inline CSS and SVG charts, no script, nothing
// fetched. Markdown: report.md with progress.svg, progress_time.svg, lineage.svg, roofline.svg
// (and grid.svg for evolve runs) beside it.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "search/suite.h"
#include "search/suite_summary.h"
#include "web/report_page.h"
#include "web/report_suite.h"
#include "web/run_view.h"

namespace kf::cli {
namespace fs = std::filesystem;

namespace {

// Writes `text` to `path` whole (through a temporary file, so a reader never sees half a
// report); false with a message on failure.
bool WriteWhole(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      std::fprintf(stderr, "kforge report: cannot write %s\n", path.c_str());
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::fprintf(stderr, "kforge report: cannot write %s: %s\n", path.c_str(),
                 ec.message().c_str());
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

// The report of one run, as `kforge report RUN_DIR` writes it; 0, or 2 with the reason said.
int ReportRun(const fs::path& run_dir, bool md, const std::string& out, bool quiet) {
  auto view = web::RunView::Open(run_dir);
  if (!view.ok()) {
    std::fprintf(stderr, "kforge report: %s\n", view.status().message().c_str());
    return 2;
  }
  const auto gathered = web::GatherReport(**view);
  if (!gathered.ok()) {
    std::fprintf(stderr, "kforge report: %s\n", gathered.status().message().c_str());
    return 2;
  }
  const web::ReportData& data = *gathered;
  if (md) {
    const fs::path md_path = out.empty() ? run_dir / "report" / "report.md" : fs::path(out);
    const web::MarkdownReport report = web::ReportMarkdown(data);
    // The charts go beside the markdown, which links them by their bare names.
    for (const auto& [name, svg] : report.images) {
      if (!WriteWhole(md_path.parent_path() / name, svg)) return 2;
    }
    if (!WriteWhole(md_path, report.markdown)) return 2;
    if (!quiet) std::printf("%s\n", md_path.c_str());
    return 0;
  }
  const fs::path html_path = out.empty() ? run_dir / "report.html" : fs::path(out);
  if (!WriteWhole(html_path, web::ReportHtml(data))) return 2;
  if (!quiet) std::printf("%s\n", html_path.c_str());
  return 0;
}

// A suite's report: its summary, and each problem's run report beside its store (the suite's
// page links them).
int ReportSuite(const fs::path& dir, bool md, const std::string& out) {
  auto summary = search::ReadSuite(dir);
  if (!summary.ok()) {
    std::fprintf(stderr, "kforge report: %s\n", summary.status().message().c_str());
    return 2;
  }
  bool runs = true;
  for (const auto& p : (*summary)["problems"]) {
    const fs::path run = dir / p["name"].get<std::string>();
    std::error_code ec;
    if (!fs::exists(run / "run.sqlite", ec)) continue;
    runs = ReportRun(run, md, "", true) == 0 && runs;
  }
  if (!runs) std::fprintf(stderr, "kforge report: some runs of the suite have no report\n");
  const fs::path path = !out.empty() ? fs::path(out)
                        : md         ? dir / "report" / "report.md"
                                     : dir / "report.html";
  const std::string text =
      md ? search::SuiteMarkdown(*summary) : web::SuiteReportHtml(*summary, out.empty());
  if (!WriteWhole(path, text)) return 2;
  std::printf("%s\n", path.c_str());
  return 0;
}

}  // namespace

int RunReport(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  bool html = false, md = false;
  std::string out;
  auto app = NewCommandApp("report",
                           "A self-contained report of a run (or of a suite, with each of its "
                           "runs' own): one HTML file with inline SVG charts (default: "
                           "RUN_DIR/report.html), or markdown with SVG plots beside it (default: "
                           "RUN_DIR/report/report.md). docs/dashboard.md.");
  app->add_option("RUN_DIR", positional, "the run")->type_name("")->take_all();
  app->add_flag("--html", html, "one HTML file (the default)");
  app->add_flag("--md", md, "markdown, its charts as SVG files beside it");
  app->add_option("--out", out, "where the report goes")
      ->type_name("PATH")
      ->check(CLI::Validator(
          [](std::string& path) -> std::string {
            return path.empty() ? "expects a file path" : "";
          },
          ""));
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  if (html && md) return Finish(UsageError(*app, "choose one of --html and --md"));
  if (positional.size() != 1) {
    return Finish(
        UsageError(*app, positional.empty() ? "no RUN_DIR given" : "more than one RUN_DIR given"));
  }
  if (positional[0].empty()) return Finish(UsageError(*app, "RUN_DIR is an empty string"));
  // Absolute and without a trailing separator, so "." or "runs/x/" still give the run its name.
  std::error_code ec;
  fs::path run_dir = fs::absolute(positional[0], ec).lexically_normal();
  if (ec) run_dir = positional[0];
  if (run_dir.filename().empty() && run_dir.has_parent_path()) run_dir = run_dir.parent_path();
  if (search::IsSuiteDir(run_dir)) return ReportSuite(run_dir, md, out);
  return ReportRun(run_dir, md, out, false);
}

}  // namespace kf::cli
