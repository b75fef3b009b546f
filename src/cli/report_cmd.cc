// `kforge report RUN_DIR [--html|--md] [--out PATH]`: a self-contained report of one run, for
// sharing (docs/dashboard.md). HTML: one file with inline CSS and SVG charts, no script, nothing
// fetched. Markdown: report.md with progress.svg, progress_time.svg, lineage.svg, roofline.svg
// (and grid.svg for evolve runs) beside it.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "web/report_page.h"
#include "web/run_view.h"

namespace kf::cli {
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage = "usage: kforge report RUN_DIR [--html|--md] [--out PATH]\n";

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

}  // namespace

int RunReport(const std::vector<std::string>& args) {
  std::string format, out;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--html" || a == "--md") {
      if (!format.empty() && format != a) {
        std::fprintf(stderr, "kforge report: choose one of --html and --md\n%s", kUsage);
        return 2;
      }
      format = a;
    } else if (a == "--out") {
      if (i + 1 >= args.size() || args[i + 1].empty()) {
        std::fprintf(stderr, "kforge report: --out expects a file path\n%s", kUsage);
        return 2;
      }
      out = args[++i];
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      std::fprintf(stderr, "kforge report: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 1) {
    std::fprintf(stderr, "kforge report: %s\n%s",
                 positional.empty() ? "no RUN_DIR given" : "more than one RUN_DIR given", kUsage);
    return 2;
  }
  if (positional[0].empty()) {
    std::fprintf(stderr, "kforge report: RUN_DIR is an empty string\n%s", kUsage);
    return 2;
  }
  // Absolute and without a trailing separator, so "." or "runs/x/" still give the run its name.
  std::error_code ec;
  fs::path run_dir = fs::absolute(positional[0], ec).lexically_normal();
  if (ec) run_dir = positional[0];
  if (run_dir.filename().empty() && run_dir.has_parent_path()) run_dir = run_dir.parent_path();
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
  if (format == "--md") {
    const fs::path md_path = out.empty() ? run_dir / "report" / "report.md" : fs::path(out);
    const web::MarkdownReport report = web::ReportMarkdown(data);
    // The charts go beside the markdown, which links them by their bare names.
    for (const auto& [name, svg] : report.images) {
      if (!WriteWhole(md_path.parent_path() / name, svg)) return 2;
    }
    if (!WriteWhole(md_path, report.markdown)) return 2;
    std::printf("%s\n", md_path.c_str());
    return 0;
  }
  const fs::path html_path = out.empty() ? run_dir / "report.html" : fs::path(out);
  if (!WriteWhole(html_path, web::ReportHtml(data))) return 2;
  std::printf("%s\n", html_path.c_str());
  return 0;
}

}  // namespace kf::cli
