// Static SVG charts of a run for kforge report (docs/dashboard.md): the same views as the live
// dashboard, drawn from RunView's JSON answers into self-contained SVG documents (xmlns,
// width/height/viewBox, inline presentation attributes, no script, nothing fetched), so each
// works inline in an HTML page and as a file beside a markdown report. Every piece of text
// from the run goes through EscapeHtml, in <text> and <title> alike.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kf::web {

// Text for HTML and for SVG/XML: & < > " ' become entities, and the control characters XML
// forbids become U+FFFD, so a stray byte in a candidate cannot make an SVG file unreadable.
std::string EscapeHtml(std::string_view text);

// Tolerant reads of RunView's JSON: the views are well-formed, but a report must never throw
// on an odd or missing field. Each gives 0, "", or an empty array/object when absent or of
// another type.
double NumberAt(const nlohmann::json& row, size_t i);
std::string TextAt(const nlohmann::json& row, size_t i);
double NumberOf(const nlohmann::json& j, const char* key);
int64_t IntOf(const nlohmann::json& j, const char* key);
std::string TextOf(const nlohmann::json& j, const char* key);
const nlohmann::json& ArrayOf(const nlohmann::json& j, const char* key);
const nlohmann::json& ObjectOf(const nlohmann::json& j, const char* key);

// Number formats shared by the charts and the report pages.
std::string FormatFixed(double value, int decimals);
std::string FormatSpeedup(double speedup);   // "2.03x", or "–" when not positive
std::string FormatMs(double ms);             // "1.234 ms", or "–" when not positive
std::string FormatDuration(double seconds);  // "1h02m", "3m05s", "12s"
std::string TickLabel(double value);         // short axis label: "0", "250", "1e+06"

// Colours: a verdict's (ok is green; use OkColor for a shade by speedup), an island's, and a
// correct candidate's green shade, lighter for slower, darker as it nears the run's best.
std::string VerdictColor(const std::string& verdict);
std::string IslandColor(int64_t island);
std::string OkColor(double speedup, double max_speedup);

enum class YScale { kAuto, kLinear, kLog };

enum class ProgressX { kEvaluations, kWallTime };

// Best speedup over evaluations or over wall time (seconds since the first candidate): a step
// line overall and one per island (with a legend when there are several), a dot with a tooltip
// where the best improved. kAuto picks a log axis when the speedups span more than 30x.
std::string ProgressSvg(const nlohmann::json& progress, YScale y_scale = YScale::kAuto,
                        ProgressX x_axis = ProgressX::kEvaluations);

// The roofline of the correct candidates: log-log GFLOP/s against arithmetic intensity under
// min(peak_gflops, peak_gbps * x); when no point has counted flops, achieved GB/s per candidate
// against the peak bandwidth instead. The best is highlighted.
std::string RooflineSvg(const nlohmann::json& roofline);

// The lineage (svg_lineage.cc): a dot per candidate, x in time order, one horizontal band per
// island with depth downwards, parent->child edges, the best's ancestry in bold, migrations
// dashed between bands, dots coloured by verdict, a legend.
std::string LineageSvg(const nlohmann::json& lineage);

// Evolve's MAP-Elites grids (svg_lineage.cc), one per island: each occupied cell coloured by
// its elite's speedup and labelled with its id and speedup; axes named by the feature metrics
// with their bin edges. "" when the run is not an evolve run.
std::string GridSvg(const nlohmann::json& grid);

// ---- Building blocks the charts share --------------------------------------------------------

// A linear or log10 mapping from data [d0, d1] to pixels [r0, r1], with "nice" ticks.
struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  bool log = false;
  double operator()(double x) const;
  std::vector<double> Ticks(int count = 5) const;
};

struct Margin {
  double left, right, top, bottom;
};

struct LegendItem {
  enum Kind { kSwatch, kLine, kDashed };
  std::string color, label;
  Kind kind = kSwatch;
};

// Lines a legend takes when wrapped at max_width (SvgWriter::Legend lays it out alike).
int LegendLineCount(const std::vector<LegendItem>& items, double max_width);

// An SVG document being written. Attributes given as `extra` must already be safe (built from
// numbers and constants); every text argument is escaped here.
class SvgWriter {
 public:
  SvgWriter(double width, double height, std::string_view label);
  void Line(double x1, double y1, double x2, double y2, std::string_view stroke, double width,
            std::string_view extra = "");
  void Text(double x, double y, std::string_view text, std::string_view anchor = "start",
            std::string_view extra = "");
  void Rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view extra = "");
  // A dot with a tooltip; class "dot" so tests and readers can count them.
  void Dot(double cx, double cy, double r, std::string_view fill, std::string_view tooltip,
           std::string_view extra = "");
  void Path(std::string_view d, std::string_view stroke, double width, std::string_view extra = "");
  void Raw(std::string_view markup) { out_ += markup; }
  // Axes, grid lines, tick labels and the axis titles of a plot area.
  void Frame(const Margin& m, const Scale& xs, const Scale& ys, std::string_view x_label,
             std::string_view y_label);
  // A legend from (x, y), one line every 16px, wrapped at max_width.
  void Legend(double x, double y, const std::vector<LegendItem>& items, double max_width);
  double width() const { return width_; }
  double height() const { return height_; }
  std::string Finish();

 private:
  double width_, height_;
  std::string out_;
};

// A complete small SVG that says there is nothing to draw yet.
std::string EmptyChartSvg(double width, double height, std::string_view message);

// A pixel coordinate as text (one decimal).
std::string Px(double v);

}  // namespace kf::web
