// The building blocks of the charts (svg_charts.h): escaping, formats, colours, scales and
// the SVG writer.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "web/svg_charts.h"

namespace kf::web {
using json = nlohmann::json;

namespace {

constexpr const char* kFont = "font-family=\"system-ui,-apple-system,Segoe UI,sans-serif\"";

std::string Mix(double t, int r0, int g0, int b0, int r1, int g1, int b1) {
  t = std::clamp(t, 0.0, 1.0);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x",
                static_cast<int>(std::lround(r0 + t * (r1 - r0))),
                static_cast<int>(std::lround(g0 + t * (g1 - g0))),
                static_cast<int>(std::lround(b0 + t * (b1 - b0))));
  return buf;
}

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF; and not U+FFFE or U+FFFF, which XML forbids), or 0.
size_t Utf8Length(std::string_view text, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = at(0);
  const size_t n = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((at(k) & 0xc0) != 0x80) return 0;
  }
  if ((c == 0xe0 && at(1) < 0xa0) || (c == 0xed && at(1) > 0x9f) || (c == 0xf0 && at(1) < 0x90) ||
      (c == 0xf4 && at(1) > 0x8f) || (c == 0xef && at(1) == 0xbf && at(2) >= 0xbe)) {
    return 0;
  }
  return n;
}

}  // namespace

double NumberAt(const json& row, size_t i) {
  return row.is_array() && i < row.size() && row[i].is_number() ? row[i].get<double>() : 0.0;
}
std::string TextAt(const json& row, size_t i) {
  return row.is_array() && i < row.size() && row[i].is_string() ? row[i].get<std::string>() : "";
}
double NumberOf(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}
int64_t IntOf(const json& j, const char* key) {
  const double v = NumberOf(j, key);
  return std::isfinite(v) && std::fabs(v) < 9e18 ? static_cast<int64_t>(v) : 0;
}
std::string TextOf(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}
const json& ArrayOf(const json& j, const char* key) {
  static const json kEmpty = json::array();
  return j.is_object() && j.contains(key) && j[key].is_array() ? j[key] : kEmpty;
}
const json& ObjectOf(const json& j, const char* key) {
  static const json kEmpty = json::object();
  return j.is_object() && j.contains(key) && j[key].is_object() ? j[key] : kEmpty;
}

std::string EscapeHtml(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += kReplacement;  // not UTF-8: XML readers would reject the whole file
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c == '\'') {
      out += "&#39;";
    } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out += kReplacement;
    } else {
      out += static_cast<char>(c);
    }
    i += n;
  }
  return out;
}

std::string FormatFixed(double value, int decimals) {
  if (!std::isfinite(value)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

std::string FormatSpeedup(double s) {
  return s > 0 && std::isfinite(s) ? FormatFixed(s, 2) + "x" : "–";
}

std::string FormatMs(double ms) {
  if (!(ms > 0) || !std::isfinite(ms)) return "–";
  return FormatFixed(ms, ms < 0.1 ? 4 : ms < 10 ? 3 : 1) + " ms";
}

std::string FormatDuration(double seconds) {
  const long s = std::isfinite(seconds) ? std::lround(std::clamp(seconds, 0.0, 1e12)) : 0;
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, s % 3600 / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lds", s);
  }
  return buf;
}

std::string TickLabel(double x) {
  if (x == 0 || !std::isfinite(x)) return "0";
  char buf[32];
  const double a = std::fabs(x);
  std::snprintf(buf, sizeof(buf), a >= 1e5 || a < 1e-3 ? "%.0e" : a >= 1000 ? "%.0f" : "%.3g", x);
  return buf;
}

std::string VerdictColor(const std::string& verdict) {
  static const std::map<std::string, std::string> kColors = {{"ok", "#1a9850"},
                                                             {"wrong_answer", "#d73027"},
                                                             {"compile_error", "#f08c00"},
                                                             {"runtime_error", "#b2182b"},
                                                             {"crash", "#7f0000"},
                                                             {"timeout", "#8e44ad"},
                                                             {"sandbox_violation", "#5e3c99"},
                                                             {"suspicious", "#e7298a"},
                                                             {"static_violation", "#9c36b5"}};
  auto it = kColors.find(verdict);
  return it == kColors.end() ? "#9aa0a6" : it->second;  // replies with no program: grey
}

std::string IslandColor(int64_t island) {
  static const char* kColors[] = {"#2f6fde", "#e8590c", "#2b8a3e", "#ae3ec9",
                                  "#0c8599", "#c92a2a", "#5c940d", "#364fc7"};
  return kColors[((island % 8) + 8) % 8];
}

std::string OkColor(double speedup, double max_speedup) {
  // Log scale from 1x (lightest) to the run's best (darkest): a 1.1x step near 1x stays visible.
  const double t = max_speedup > 1.0001 && speedup > 0
                       ? std::log(std::max(speedup, 1.0)) / std::log(max_speedup)
                       : 1.0;
  return Mix(0.25 + 0.75 * t, 0xc7, 0xe9, 0xc0, 0x00, 0x5a, 0x24);
}

std::string Px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", std::isfinite(v) ? v : 0.0);
  return buf;
}

double Scale::operator()(double x) const {
  if (log) {
    const double l0 = std::log10(d0), l1 = std::log10(d1);
    const double lx = std::log10(std::max(x, d0));
    return r0 + (lx - l0) / (l1 - l0 == 0 ? 1 : l1 - l0) * (r1 - r0);
  }
  return r0 + (x - d0) / (d1 - d0 == 0 ? 1 : d1 - d0) * (r1 - r0);
}

std::vector<double> Scale::Ticks(int count) const {
  std::vector<double> out;
  if (log) {
    // Powers of ten; with 2x and 5x between them when the range spans less than two decades.
    const double l0 = std::log10(d0), l1 = std::log10(d1);
    if (!std::isfinite(l0) || !std::isfinite(l1) || l1 - l0 > 60) return out;
    const bool fine = l1 - l0 < 2;
    for (int p = static_cast<int>(std::floor(l0)); p <= static_cast<int>(std::ceil(l1)); ++p) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (m > 1 && !fine) continue;
        const double t = m * std::pow(10.0, p);
        if (t >= d0 * 0.999 && t <= d1 * 1.001) out.push_back(t);
      }
    }
    return out;
  }
  const double span = d1 - d0 > 0 ? d1 - d0 : 1;
  const double rough = span / count, mag = std::pow(10.0, std::floor(std::log10(rough)));
  double step = rough;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (span / (m * mag) <= count) {
      step = m * mag;
      break;
    }
  }
  // Bounded: with odd data (a step lost in the rounding of huge values) t might never move.
  for (int k = 0; k <= 4 * count && std::isfinite(step) && step > 0; ++k) {
    const double t = (std::ceil(d0 / step) + k) * step;
    if (!(t <= d1 + step * 1e-9)) break;
    out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

SvgWriter::SvgWriter(double width, double height, std::string_view label)
    : width_(width), height_(height) {
  out_ = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Px(width) + "\" height=\"" +
         Px(height) + "\" viewBox=\"0 0 " + Px(width) + " " + Px(height) +
         "\" role=\"img\" aria-label=\"" + EscapeHtml(label) + "\" " + kFont +
         " font-size=\"11\" fill=\"#222\">\n<title>" + EscapeHtml(label) + "</title>\n" +
         "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
}

void SvgWriter::Line(double x1, double y1, double x2, double y2, std::string_view stroke,
                     double width, std::string_view extra) {
  out_ += "<line x1=\"" + Px(x1) + "\" y1=\"" + Px(y1) + "\" x2=\"" + Px(x2) + "\" y2=\"" + Px(y2) +
          "\" stroke=\"" + std::string(stroke) + "\" stroke-width=\"" + Px(width) + "\" " +
          std::string(extra) + "/>\n";
}

void SvgWriter::Text(double x, double y, std::string_view text, std::string_view anchor,
                     std::string_view extra) {
  out_ += "<text x=\"" + Px(x) + "\" y=\"" + Px(y) + "\" text-anchor=\"" + std::string(anchor) +
          "\" " + std::string(extra) + ">" + EscapeHtml(text) + "</text>\n";
}

void SvgWriter::Rect(double x, double y, double w, double h, std::string_view fill,
                     std::string_view extra) {
  out_ += "<rect x=\"" + Px(x) + "\" y=\"" + Px(y) + "\" width=\"" + Px(w) + "\" height=\"" +
          Px(h) + "\" fill=\"" + std::string(fill) + "\" " + std::string(extra) + "/>\n";
}

void SvgWriter::Dot(double cx, double cy, double r, std::string_view fill, std::string_view tooltip,
                    std::string_view extra) {
  out_ += "<circle class=\"dot\" cx=\"" + Px(cx) + "\" cy=\"" + Px(cy) + "\" r=\"" + Px(r) +
          "\" fill=\"" + std::string(fill) + "\" " + std::string(extra) + "><title>" +
          EscapeHtml(tooltip) + "</title></circle>\n";
}

void SvgWriter::Path(std::string_view d, std::string_view stroke, double width,
                     std::string_view extra) {
  out_ += "<path d=\"" + std::string(d) + "\" fill=\"none\" stroke=\"" + std::string(stroke) +
          "\" stroke-width=\"" + Px(width) + "\" " + std::string(extra) + "/>\n";
}

void SvgWriter::Frame(const Margin& m, const Scale& xs, const Scale& ys, std::string_view x_label,
                      std::string_view y_label) {
  const double bottom = height_ - m.bottom, right = width_ - m.right;
  for (double t : ys.Ticks()) {
    Line(m.left, ys(t), right, ys(t), "#e9ecef", 1);
    Text(m.left - 6, ys(t) + 4, TickLabel(t), "end", "fill=\"#555\"");
  }
  for (double t : xs.Ticks()) {
    Line(xs(t), bottom, xs(t), bottom + 4, "#888", 1);
    Text(xs(t), bottom + 16, TickLabel(t), "middle", "fill=\"#555\"");
  }
  Line(m.left, bottom, right, bottom, "#888", 1);
  Line(m.left, m.top, m.left, bottom, "#888", 1);
  Text((m.left + right) / 2, height_ - 6, x_label, "middle");
  const double mid = (m.top + bottom) / 2;
  Text(14, mid, y_label, "middle", "transform=\"rotate(-90 14 " + Px(mid) + ")\"");
}

namespace {
// Where each legend item goes: {line, x offset}, wrapping at max_width.
std::vector<std::pair<int, double>> LegendLayout(const std::vector<LegendItem>& items,
                                                 double max_width) {
  std::vector<std::pair<int, double>> at;
  int line = 0;
  double x = 0;
  for (const auto& item : items) {
    const double w = 28 + 6.2 * static_cast<double>(item.label.size());  // 11px text
    if (x > 0 && x + w > max_width) ++line, x = 0;
    at.push_back({line, x});
    x += w;
  }
  return at;
}
}  // namespace

int LegendLineCount(const std::vector<LegendItem>& items, double max_width) {
  const auto at = LegendLayout(items, max_width);
  return at.empty() ? 0 : at.back().first + 1;
}

void SvgWriter::Legend(double x, double y, const std::vector<LegendItem>& items, double max_width) {
  const auto at = LegendLayout(items, max_width);
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    const double ix = x + at[i].second, iy = y + 16.0 * at[i].first;
    if (item.kind == LegendItem::kSwatch) {
      Rect(ix, iy - 9, 14, 10, item.color, "rx=\"2\"");
    } else {
      Line(ix, iy - 4, ix + 16, iy - 4, item.color, item.kind == LegendItem::kLine ? 2.4 : 1.5,
           item.kind == LegendItem::kDashed ? "stroke-dasharray=\"4 3\"" : "");
    }
    Text(ix + 20, iy, item.label);
  }
}

std::string SvgWriter::Finish() { return out_ + "</svg>\n"; }

std::string EmptyChartSvg(double width, double height, std::string_view message) {
  SvgWriter svg(width, height, message);
  svg.Rect(0.5, 0.5, width - 1, height - 1, "none", "stroke=\"#dee2e6\"");
  svg.Text(width / 2, height / 2, message, "middle", "fill=\"#777\"");
  return svg.Finish();
}

}  // namespace kf::web
