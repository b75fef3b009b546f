// The lineage and MAP-Elites grid charts (declared in svg_charts.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "web/svg_charts.h"

namespace kf::web {
using json = nlohmann::json;

namespace {

int64_t IdAt(const json& row, size_t i) { return static_cast<int64_t>(NumberAt(row, i)); }

// Elite colours: red shades below 1x, the green shades of correct dots above it.
std::string EliteColor(double speedup, double max_speedup) {
  if (speedup >= 1) return OkColor(speedup, max_speedup);
  const double t = std::clamp(-std::log(std::max(speedup, 1e-6)) / std::log(4.0), 0.0, 1.0);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x", static_cast<int>(0xf4 - t * (0xf4 - 0xd7)),
                static_cast<int>(0xc7 - t * (0xc7 - 0x30)),
                static_cast<int>(0xc3 - t * (0xc3 - 0x27)));
  return buf;
}

// Dark text on light cells, white on dark ones.
std::string TextColorOn(const std::string& hex) {
  unsigned r = 0, g = 0, b = 0;
  if (std::sscanf(hex.c_str(), "#%02x%02x%02x", &r, &g, &b) != 3) return "#111";
  return 0.299 * r + 0.587 * g + 0.114 * b < 140 ? "#fff" : "#111";
}

}  // namespace

std::string LineageSvg(const json& lineage) {
  // [id, parent, island, verdict, speedup, depth, origin, best_path], in id order.
  const json& nodes = ArrayOf(lineage, "nodes");
  if (nodes.empty()) return EmptyChartSvg(1100, 120, "No candidates yet.");
  std::vector<int64_t> islands;
  int max_depth = 1;
  double max_speedup = 1;
  std::vector<LegendItem> legend = {{OkColor(2, 2), "ok (darker: faster)"}};
  std::set<std::string> in_legend = {"ok"};
  for (const auto& n : nodes) {
    islands.push_back(IdAt(n, 2));
    max_depth = std::max(max_depth, static_cast<int>(std::clamp(NumberAt(n, 5), 0.0, 1e6)));
    if (TextAt(n, 3) == "ok") max_speedup = std::max(max_speedup, NumberAt(n, 4));
    if (in_legend.insert(TextAt(n, 3)).second) {
      legend.push_back({VerdictColor(TextAt(n, 3)), TextAt(n, 3)});
    }
  }
  std::sort(islands.begin(), islands.end());
  islands.erase(std::unique(islands.begin(), islands.end()), islands.end());
  const json& migrations = ArrayOf(lineage, "migrations");
  legend.push_back({"#111", "the best's lineage", LegendItem::kLine});
  if (!migrations.empty()) legend.push_back({"#5e3c99", "migration", LegendItem::kDashed});

  const double W = 1100;
  const Margin m{84, 16, 12 + 16.0 * LegendLineCount(legend, W - 100), 36};
  const double band = std::clamp(40.0 + max_depth * 12.0, 90.0, 220.0);
  const double H = m.top + m.bottom + band * static_cast<double>(islands.size());
  auto band_of = [&](int64_t island) {
    return static_cast<double>(std::lower_bound(islands.begin(), islands.end(), island) -
                               islands.begin());
  };
  // x: rank in id order, so the best's early ancestors (kept outside the window of recent
  // candidates) do not squeeze the window into a corner.
  const double count = static_cast<double>(nodes.size());
  const Scale xs{-0.5, std::max(count - 0.5, 0.5), m.left, W - m.right};
  std::unordered_map<int64_t, std::pair<double, double>> pos;
  std::unordered_map<int64_t, bool> on_best;
  std::unordered_map<int64_t, int64_t> island_of;
  for (size_t r = 0; r < nodes.size(); ++r) {
    const auto& n = nodes[r];
    const double y =
        m.top + band_of(IdAt(n, 2)) * band + 10 + NumberAt(n, 5) / max_depth * (band - 20);
    pos[IdAt(n, 0)] = {xs(static_cast<double>(r)), y};
    on_best[IdAt(n, 0)] = NumberAt(n, 7) != 0;
    island_of[IdAt(n, 0)] = IdAt(n, 2);
  }

  SvgWriter svg(W, H, "Lineage of the candidates");
  svg.Legend(m.left, 14, legend, W - 100);
  for (size_t k = 0; k < islands.size(); ++k) {
    const double y0 = m.top + static_cast<double>(k) * band;
    svg.Rect(m.left, y0, W - m.left - m.right, band, k % 2 ? "#f6f8fa" : "#fff");
    svg.Text(m.left - 8, y0 + band / 2, "island " + std::to_string(islands[k]), "end",
             "font-weight=\"600\"");
    svg.Text(m.left - 8, y0 + band / 2 + 14, "depth ↓", "end", "fill=\"#888\" font-size=\"9\"");
  }
  // x ticks: about eight candidates' ids, at their ranks.
  const size_t every = std::max<size_t>(1, (nodes.size() + 7) / 8);
  for (size_t r = 0; r < nodes.size(); r += every) {
    const double x = xs(static_cast<double>(r)), bottom = H - m.bottom;
    svg.Line(x, bottom, x, bottom + 4, "#888", 1);
    svg.Text(x, bottom + 16, "#" + std::to_string(IdAt(nodes[r], 0)), "middle", "fill=\"#555\"");
  }
  // A window of recent candidates: its older nodes are only the best's ancestors; mark where the
  // window begins.
  const int64_t window_from = IntOf(lineage, "from");
  for (size_t r = 1; window_from > 0 && r < nodes.size(); ++r) {
    if (IdAt(nodes[r - 1], 0) <= window_from && IdAt(nodes[r], 0) > window_from) {
      const double x = xs(static_cast<double>(r) - 0.5);
      svg.Line(x, m.top, x, H - m.bottom, "#adb5bd", 1, "stroke-dasharray=\"2 3\"");
      svg.Text(x + 4, m.top + 10,
               "the most recent candidates (left of this line: only the best's ancestors)", "start",
               "fill=\"#777\" font-size=\"9\"");
      break;
    }
  }
  svg.Line(m.left, H - m.bottom, W - m.right, H - m.bottom, "#888", 1);
  svg.Text((m.left + W - m.right) / 2, H - 6, "candidates in time order (id)", "middle");

  // Edges first, the best's lineage last so it stays on top.
  std::string best_edges;
  for (const auto& n : nodes) {
    auto child = pos.find(IdAt(n, 0)), parent = pos.find(IdAt(n, 1));
    if (parent == pos.end() || child == pos.end()) continue;
    const auto [x1, y1] = parent->second;
    const auto [x2, y2] = child->second;
    if (on_best[IdAt(n, 0)] && on_best[IdAt(n, 1)]) {
      best_edges += "M" + Px(x1) + "," + Px(y1) + "L" + Px(x2) + "," + Px(y2);
    } else {
      svg.Line(x1, y1, x2, y2, "#c5cad3", 0.8, "class=\"edge\"");
    }
  }
  if (!best_edges.empty()) svg.Path(best_edges, "#111", 2.4, "class=\"best-edge\"");
  // [step, candidate, from_island, to_island]
  for (const auto& mig : migrations) {
    auto from = pos.find(IdAt(mig, 1));
    // A copy moving back to the candidate's own island would not leave its band: not drawn.
    if (from == pos.end() || island_of[IdAt(mig, 1)] == IdAt(mig, 3) ||
        !std::binary_search(islands.begin(), islands.end(), IdAt(mig, 3))) {
      continue;
    }
    const double y = m.top + band_of(IdAt(mig, 3)) * band + band / 2;
    svg.Raw("<line class=\"migration\" x1=\"" + Px(from->second.first) + "\" y1=\"" +
            Px(from->second.second) + "\" x2=\"" + Px(from->second.first + 10) + "\" y2=\"" +
            Px(y) + "\" stroke=\"#5e3c99\" stroke-width=\"1.3\" stroke-dasharray=\"4 3\"><title>#" +
            std::to_string(IdAt(mig, 1)) + " migrated from island " + std::to_string(IdAt(mig, 2)) +
            " to island " + std::to_string(IdAt(mig, 3)) + " (step " +
            std::to_string(IdAt(mig, 0)) + ")</title></line>\n");
  }
  const double radius = nodes.size() > 800 ? 2.4 : 3.4;
  for (const auto& n : nodes) {
    const auto [x, y] = pos[IdAt(n, 0)];
    const std::string verdict = TextAt(n, 3);
    const bool best_path = NumberAt(n, 7) != 0;
    const int64_t parent = IdAt(n, 1);
    svg.Dot(x, y, best_path ? radius + 1.6 : radius,
            verdict == "ok" ? OkColor(NumberAt(n, 4), max_speedup) : VerdictColor(verdict),
            "#" + std::to_string(IdAt(n, 0)) + " " + verdict +
                (verdict == "ok" ? " " + FormatSpeedup(NumberAt(n, 4)) : "") + " · " +
                TextAt(n, 6) + " · parent " + (parent ? "#" + std::to_string(parent) : "none") +
                " · island " + std::to_string(IdAt(n, 2)) + " · depth " +
                std::to_string(IdAt(n, 5)),
            best_path ? "stroke=\"#111\" stroke-width=\"1.4\"" : "");
  }
  return svg.Finish();
}

std::string GridSvg(const json& grid) {
  const json& features = ArrayOf(grid, "features");
  if (features.empty() || !features[0].is_object()) return "";
  struct Axis {
    std::string metric;
    double min, max;
    int bins;
  };
  auto axis = [](const json& f) {
    const double min = NumberOf(f, "min"), max = NumberOf(f, "max");
    const std::string metric = TextOf(f, "metric");
    return Axis{metric.empty() ? "?" : metric, min, max > min ? max : min + 1,
                static_cast<int>(std::clamp<int64_t>(IntOf(f, "bins"), 1, 64))};
  };
  const Axis fx = axis(features[0]);
  const Axis fy =
      features.size() > 1 && features[1].is_object() ? axis(features[1]) : Axis{"(none)", 0, 1, 1};
  // The elite of each drawn cell per island; a third feature's cells fold into the first two.
  struct Elite {
    int64_t id;
    double speedup;
    int64_t count;
  };
  std::map<int64_t, std::map<std::pair<int, int>, Elite>> by_island;
  double max_speedup = 1;
  for (const auto& c : ArrayOf(grid, "cells")) {
    if (!c.is_object()) continue;
    const json& cell = ArrayOf(c, "cell");
    const int i = static_cast<int>(std::clamp(NumberAt(cell, 0), 0.0, fx.bins - 1.0));
    const int j = static_cast<int>(std::clamp(NumberAt(cell, 1), 0.0, fy.bins - 1.0));
    const Elite e{IntOf(c, "id"), NumberOf(c, "speedup"), IntOf(c, "count")};
    auto& slot = by_island[IntOf(c, "island")];
    auto it = slot.find({i, j});
    if (it == slot.end() || e.speedup > it->second.speedup) {
      const int64_t count = it == slot.end() ? e.count : e.count + it->second.count;
      slot[{i, j}] = {e.id, e.speedup, count};
    } else {
      it->second.count += e.count;
    }
    max_speedup = std::max(max_speedup, e.speedup);
  }
  if (by_island.empty()) by_island[0] = {};

  const double cell = std::max(fx.bins, fy.bins) > 10 ? 30 : 48;
  const Margin m{62, 14, 24, 46};
  const double pw = m.left + m.right + fx.bins * cell, ph = m.top + m.bottom + fy.bins * cell;
  const int per_row = std::max(1, static_cast<int>(1100 / pw));
  const int n = static_cast<int>(by_island.size());
  const int rows = (n + per_row - 1) / per_row;
  SvgWriter svg(pw * std::min(n, per_row), ph * rows, "MAP-Elites grid per island");
  auto edge_label = [](const Axis& a, int k) {
    return TickLabel(a.min + (a.max - a.min) * k / a.bins);
  };
  auto label_every = [](int bins) { return std::max(1, (bins + 5) / 6); };
  int k = 0;
  for (const auto& [island, cells] : by_island) {
    const double ox = pw * (k % per_row), oy = ph * (k / per_row);
    ++k;
    svg.Raw("<g transform=\"translate(" + Px(ox) + "," + Px(oy) + ")\">\n");
    svg.Text(
        m.left, 15,
        "island " + std::to_string(island) + (cells.empty() ? " (no correct candidate yet)" : ""),
        "start", "font-weight=\"600\"");
    const double gx = m.left, gy = m.top, gw = fx.bins * cell, gh = fy.bins * cell;
    for (int i = 0; i < fx.bins; ++i) {
      for (int j = 0; j < fy.bins; ++j) {
        svg.Rect(gx + i * cell, gy + (fy.bins - 1 - j) * cell, cell - 2, cell - 2, "#f1f3f5");
      }
    }
    for (const auto& [ij, e] : cells) {
      const double x = gx + ij.first * cell, y = gy + (fy.bins - 1 - ij.second) * cell;
      const std::string fill = EliteColor(e.speedup, max_speedup);
      svg.Raw("<rect class=\"elite\" x=\"" + Px(x) + "\" y=\"" + Px(y) + "\" width=\"" +
              Px(cell - 2) + "\" height=\"" + Px(cell - 2) + "\" fill=\"" + fill + "\"><title>" +
              EscapeHtml("#" + std::to_string(e.id) + ": " + FormatSpeedup(e.speedup) + " (" +
                         std::to_string(e.count) + " correct programs in this cell; " + fx.metric +
                         " " + edge_label(fx, ij.first) + "–" + edge_label(fx, ij.first + 1) +
                         ", " + fy.metric + " " + edge_label(fy, ij.second) + "–" +
                         edge_label(fy, ij.second + 1) + ")") +
              "</title></rect>\n");
      const std::string ink = "fill=\"" + TextColorOn(fill) + "\" font-size=\"9\"";
      if (cell >= 40) {
        svg.Text(x + cell / 2 - 1, y + cell / 2 - 3, "#" + std::to_string(e.id), "middle", ink);
        svg.Text(x + cell / 2 - 1, y + cell / 2 + 9, FormatSpeedup(e.speedup), "middle", ink);
      } else {
        svg.Text(x + cell / 2 - 1, y + cell / 2 + 3, FormatFixed(e.speedup, 1), "middle", ink);
      }
    }
    for (int e = 0; e <= fx.bins; e += label_every(fx.bins)) {
      svg.Text(gx + e * cell - 1, gy + gh + 13, edge_label(fx, e), "middle", "fill=\"#555\"");
    }
    for (int e = 0; e <= fy.bins; e += label_every(fy.bins)) {
      svg.Text(gx - 5, gy + gh - e * cell + 3, edge_label(fy, e), "end", "fill=\"#555\"");
    }
    svg.Text(gx + gw / 2, gy + gh + 32, fx.metric, "middle");
    const double mid = gy + gh / 2;
    svg.Text(14, mid, fy.metric, "middle", "transform=\"rotate(-90 14 " + Px(mid) + ")\"");
    svg.Raw("</g>\n");
  }
  return svg.Finish();
}

}  // namespace kf::web
