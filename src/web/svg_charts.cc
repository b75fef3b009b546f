// The progress and roofline charts (svg_charts.h).
#include "web/svg_charts.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace kf::web {
using json = nlohmann::json;

std::string ProgressSvg(const json& progress, YScale y_scale, ProgressX x_axis) {
  const json& best = ArrayOf(progress, "best");
  const json& islands = ArrayOf(progress, "islands");
  if (best.empty()) return EmptyChartSvg(640, 120, "No correct candidate yet.");
  const double W = 640, H = 280;
  const Margin m{56, 16, 30, 38};
  // Every point drawn: [evaluation, seconds, speedup, id].
  std::vector<const json*> all;
  for (const auto& p : best) all.push_back(&p);
  for (const auto& isl : islands) {
    for (const auto& p : ArrayOf(isl, "steps")) all.push_back(&p);
  }
  const bool wall = x_axis == ProgressX::kWallTime;
  const size_t xcol = wall ? 1 : 0;
  double xmax = std::max(1.0, NumberOf(progress, wall ? "seconds" : "evaluations"));
  double ymin = 1, ymax = 1;
  for (const json* p : all) {
    xmax = std::max(xmax, NumberAt(*p, xcol));
    if (NumberAt(*p, 2) > 0) ymin = std::min(ymin, NumberAt(*p, 2));
    ymax = std::max(ymax, NumberAt(*p, 2));
  }
  const bool log = y_scale == YScale::kLog || (y_scale == YScale::kAuto && ymax / ymin > 30);
  const Scale xs{0, xmax, m.left, W - m.right};
  const Scale ys = log ? Scale{ymin / 1.3, ymax * 1.3, H - m.bottom, m.top, true}
                       : Scale{0, std::max(1.1, ymax) * 1.08, H - m.bottom, m.top};
  SvgWriter svg(W, H, wall ? "Best speedup over wall time" : "Best speedup over evaluations");
  svg.Frame(m, xs, ys, wall ? "seconds since the first candidate" : "evaluations",
            log ? "best speedup (x, log scale)" : "best speedup (x)");
  svg.Line(m.left, ys(1), W - m.right, ys(1), "#999", 1, "stroke-dasharray=\"3 3\"");
  svg.Text(W - m.right - 2, ys(1) - 4, "1x (initial program)", "end", "fill=\"#777\"");
  auto step_path = [&](const json& pts) {
    std::string d;
    for (const auto& p : pts) {
      d += d.empty() ? "M" + Px(xs(NumberAt(p, xcol))) + "," + Px(ys(NumberAt(p, 2)))
                     : "H" + Px(xs(NumberAt(p, xcol))) + "V" + Px(ys(NumberAt(p, 2)));
    }
    return d.empty() ? d : d + "H" + Px(xs(xmax));
  };
  std::vector<LegendItem> legend = {{"#111", "overall", LegendItem::kLine}};
  if (islands.size() > 1) {
    for (const auto& isl : islands) {
      const int64_t k = IntOf(isl, "island");
      const std::string d = step_path(ArrayOf(isl, "steps"));
      if (!d.empty()) svg.Path(d, IslandColor(k), 1.3, "opacity=\"0.75\" class=\"island-line\"");
      legend.push_back({IslandColor(k), "island " + std::to_string(k), LegendItem::kLine});
    }
  }
  svg.Path(step_path(best), "#111", 2, "class=\"best-line\"");
  for (const auto& p : best) {
    svg.Dot(xs(NumberAt(p, xcol)), ys(NumberAt(p, 2)), 3.5, "#111",
            "#" + std::to_string(static_cast<int64_t>(NumberAt(p, 3))) + ": " +
                FormatSpeedup(NumberAt(p, 2)) + " at evaluation " +
                std::to_string(static_cast<int64_t>(NumberAt(p, 0))) + ", " +
                FormatDuration(NumberAt(p, 1)));
  }
  svg.Legend(m.left + 4, 16, legend, W - m.left - m.right);
  return svg.Finish();
}

std::string RooflineSvg(const json& roofline) {
  const json& points = ArrayOf(roofline, "points");
  if (points.empty()) return EmptyChartSvg(640, 120, "No correct candidate yet.");
  // [id, island, speedup, time ms, flop/byte, GFLOP/s, GB/s, fraction of the roof]
  const double W = 640, H = 300, peak_gflops = NumberOf(roofline, "peak_gflops"),
               peak_gbps = NumberOf(roofline, "peak_gbps");
  const Margin m{62, 16, 14, 40};
  const json* best = nullptr;
  bool flop_task = false;
  for (const auto& p : points) {
    if (!best || NumberAt(p, 2) > NumberAt(*best, 2)) best = &p;
    flop_task = flop_task || (NumberAt(p, 4) > 0 && NumberAt(p, 5) > 0);
  }
  SvgWriter svg(W, H, "Roofline of the correct candidates");
  // Dots at the same pixel merge into the fastest of them (a long run has thousands, mostly
  // on top of each other); its tooltip counts the others. The best is drawn last, on top.
  struct Placed {
    const json* p;
    int others;
  };
  std::map<std::pair<long, long>, Placed> placed;
  std::pair<double, double> best_at{0, 0};
  auto dot = [&](double x, double y, const json& p) {
    if (&p == best) {
      best_at = {x, y};
      return;
    }
    auto [it, fresh] = placed.try_emplace({std::lround(x), std::lround(y)}, Placed{&p, 0});
    if (fresh) return;
    ++it->second.others;
    if (NumberAt(p, 2) > NumberAt(*it->second.p, 2)) it->second.p = &p;
  };
  auto draw = [&](double x, double y, const json& p, int others) {
    const bool is_best = &p == best;
    svg.Dot(x, y, is_best ? 5.5 : 3.5, is_best ? "#111" : IslandColor(NumberAt(p, 1)),
            "#" + std::to_string(static_cast<int64_t>(NumberAt(p, 0))) + ": " +
                FormatSpeedup(NumberAt(p, 2)) + ", " + FormatMs(NumberAt(p, 3)) + ", " +
                FormatFixed(NumberAt(p, 5), 1) + " GFLOP/s, " + FormatFixed(NumberAt(p, 6), 1) +
                " GB/s, " + FormatFixed(100 * NumberAt(p, 7), 0) + "% of the roof" +
                (is_best ? " (best)" : "") +
                (others ? " (and " + std::to_string(others) + " more here)" : ""),
            is_best ? "stroke=\"#fff\" stroke-width=\"1.5\"" : "opacity=\"0.8\"");
    if (is_best) {
      svg.Text(x + 8, y - 6, "best #" + std::to_string(static_cast<int64_t>(NumberAt(p, 0))),
               "start", "font-weight=\"600\"");
    }
  };
  if (flop_task) {
    const double ridge = peak_gbps > 0 && peak_gflops > 0 ? peak_gflops / peak_gbps : 1;
    double x0 = ridge, x1 = ridge, y0 = peak_gbps > 0 ? peak_gbps * ridge : 1e9, y1 = peak_gflops;
    for (const auto& p : points) {
      if (NumberAt(p, 4) <= 0 || NumberAt(p, 5) <= 0) continue;
      x0 = std::min(x0, NumberAt(p, 4));
      x1 = std::max(x1, NumberAt(p, 4));
      y0 = std::min(y0, NumberAt(p, 5));
      y1 = std::max(y1, NumberAt(p, 5));
    }
    x0 /= 4, x1 *= 4;
    if (peak_gbps > 0) y0 = std::min(y0, peak_gbps * x0);
    y0 = std::max(1e-4, y0 / 2), y1 *= 2;
    const Scale xs{x0, x1, m.left, W - m.right, true}, ys{y0, y1, H - m.bottom, m.top, true};
    svg.Frame(m, xs, ys, "arithmetic intensity (flop/byte, log)", "GFLOP/s (log)");
    if (peak_gflops > 0 && peak_gbps > 0) {
      std::string d;
      for (double x : {x0, ridge, x1}) {
        const double y = std::max(y0, std::min(peak_gflops, peak_gbps * x));
        d += (d.empty() ? "M" : "L") + Px(xs(x)) + "," + Px(ys(y));
      }
      svg.Path(d, "#d9480f", 2, "class=\"roof\"");
      svg.Text(W - m.right - 4, ys(peak_gflops) - 6,
               "roof: " + FormatFixed(peak_gflops, 0) + " GFLOP/s, " + FormatFixed(peak_gbps, 1) +
                   " GB/s (measured)",
               "end", "fill=\"#d9480f\"");
    }
    for (const auto& p : points) {
      if (NumberAt(p, 4) > 0 && NumberAt(p, 5) > 0) dot(xs(NumberAt(p, 4)), ys(NumberAt(p, 5)), p);
    }
  } else {
    // Memory-bound work whose flops are not counted: achieved bandwidth per candidate.
    double id0 = NumberAt(points.front(), 0), id1 = id0, ymax = std::max(1.0, peak_gbps);
    for (const auto& p : points) {
      id0 = std::min(id0, NumberAt(p, 0));
      id1 = std::max(id1, NumberAt(p, 0));
      ymax = std::max(ymax, NumberAt(p, 6));
    }
    const Scale xs{id0 - 1, id1 + 1, m.left, W - m.right}, ys{0, ymax * 1.12, H - m.bottom, m.top};
    svg.Frame(m, xs, ys, "candidate id", "achieved GB/s");
    if (peak_gbps > 0) {
      svg.Line(m.left, ys(peak_gbps), W - m.right, ys(peak_gbps), "#d9480f", 2, "class=\"roof\"");
      svg.Text(W - m.right - 4, ys(peak_gbps) - 6,
               "peak " + FormatFixed(peak_gbps, 1) + " GB/s (measured)", "end", "fill=\"#d9480f\"");
    }
    for (const auto& p : points) dot(xs(NumberAt(p, 0)), ys(NumberAt(p, 6)), p);
  }
  for (const auto& [pixel, d] : placed) draw(pixel.first, pixel.second, *d.p, d.others);
  const bool best_drawn = !flop_task || (NumberAt(*best, 4) > 0 && NumberAt(*best, 5) > 0);
  if (best_drawn) draw(best_at.first, best_at.second, *best, 0);
  return svg.Finish();
}

}  // namespace kf::web
