#include "web/svg_charts.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/run_store.h"
#include "util/temp_dir_test.h"
#include "web/report_page.h"
#include "web/run_view.h"

namespace kf::web {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kAttack = "</script><img src=x onerror=alert(1)>";

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Every <svg ...> opens at the start of a chart and closes once.
void ExpectWholeSvgs(const std::string& text, size_t expected) {
  EXPECT_EQ(Count(text, "<svg xmlns=\"http://www.w3.org/2000/svg\""), expected);
  EXPECT_EQ(Count(text, "</svg>"), expected);
}

TEST(EscapeHtml, EscapesMarkupAndDropsWhatXmlForbids) {
  EXPECT_EQ(EscapeHtml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(EscapeHtml(kAttack), "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
  EXPECT_EQ(EscapeHtml("tab\tnl\n"), "tab\tnl\n");
  EXPECT_EQ(EscapeHtml(std::string("a\x01z", 3)), "a\xEF\xBF\xBDz");
  EXPECT_EQ(EscapeHtml("\xff"), "\xEF\xBF\xBD");            // not UTF-8
  EXPECT_EQ(EscapeHtml("caf\xC3\xA9 →"), "caf\xC3\xA9 →");  // UTF-8 kept
}

TEST(MarkdownText, CannotOpenMarkupLinksOrCells) {
  EXPECT_EQ(MarkdownText("a|b [x](y) *z* `q` <i>&\nnext"),
            "a\\|b \\[x\\](y) \\*z\\* \\`q\\` &lt;i&gt;&amp; next");
  EXPECT_EQ(MarkdownFence("no ticks"), "```");
  EXPECT_EQ(MarkdownFence("a ```` b ` c"), "`````");
}

json Lineage(int n) {
  json nodes = json::array();
  for (int id = 1; id <= n; ++id) {
    const std::string verdict = id % 3 == 0 ? "wrong_answer" : id % 5 == 0 ? "timeout" : "ok";
    nodes.push_back({id, id > 1 ? id - 1 : 0, id % 2, verdict, id * 0.5, id - 1, "llm", 0});
  }
  return {{"total", n}, {"nodes", nodes}, {"migrations", json::array({{2, 4, 0, 1}})}};
}

TEST(Charts, DrawADotPerCandidate) {
  const std::string lineage = LineageSvg(Lineage(37));
  ExpectWholeSvgs(lineage, 1);
  EXPECT_EQ(Count(lineage, "class=\"dot\""), 37u);
  EXPECT_EQ(Count(lineage, "class=\"migration\""), 1u);
  EXPECT_NE(lineage.find("island 1"), std::string::npos);

  const json progress = {{"evaluations", 9},
                         {"best", {{1, 0.0, 1.0, 1}, {4, 2.0, 1.5, 4}, {9, 5.0, 3.0, 9}}},
                         {"islands",
                          {{{"island", 0}, {"steps", {{1, 0.0, 1.0, 1}}}},
                           {{"island", 1}, {"steps", {{4, 2.0, 1.5, 4}, {9, 5.0, 3.0, 9}}}}}}};
  for (YScale y : {YScale::kAuto, YScale::kLinear, YScale::kLog}) {
    const std::string svg = ProgressSvg(progress, y);
    ExpectWholeSvgs(svg, 1);
    EXPECT_EQ(Count(svg, "class=\"dot\""), 3u);
    EXPECT_EQ(Count(svg, "class=\"island-line\""), 2u);
  }
  // Over wall time the same steps sit at their seconds, not their evaluation numbers.
  const std::string by_time = ProgressSvg(progress, YScale::kAuto, ProgressX::kWallTime);
  ExpectWholeSvgs(by_time, 1);
  EXPECT_EQ(Count(by_time, "class=\"dot\""), 3u);
  EXPECT_NE(by_time.find("seconds since the first candidate"), std::string::npos);
  EXPECT_NE(by_time, ProgressSvg(progress));

  // [id, island, speedup, time ms, flop/byte, GFLOP/s, GB/s, fraction]
  json roof = {{"peak_gflops", 1000.0},
               {"peak_gbps", 100.0},
               {"points",
                {{1, 0, 1.0, 2.0, 0.5, 20.0, 40.0, 0.4},
                 {2, 0, 2.0, 1.0, 0.5, 40.0, 80.0, 0.8},
                 {3, 1, 1.5, 1.3, 0.0, 0.0, 60.0, 0.6}}}};
  std::string svg = RooflineSvg(roof);
  ExpectWholeSvgs(svg, 1);
  EXPECT_EQ(Count(svg, "class=\"dot\""), 2u);  // #3 has no counted flops
  EXPECT_NE(svg.find("best #2"), std::string::npos);
  // No flops counted at all: bandwidth per candidate against the peak instead.
  for (auto& p : roof["points"]) p[4] = 0.0, p[5] = 0.0;
  svg = RooflineSvg(roof);
  EXPECT_EQ(Count(svg, "class=\"dot\""), 3u);
  EXPECT_NE(svg.find("achieved GB/s"), std::string::npos);

  const json grid = {
      {"strategy", "evolve"},
      {"features",
       {{{"metric", "code_size"}, {"min", 0}, {"max", 8000}, {"bins", 6}},
        {{"metric", "roofline.fraction"}, {"min", 0}, {"max", 1}, {"bins", 6}}}},
      {"cells",
       {{{"island", 0}, {"cell", {0, 1}}, {"id", 1}, {"speedup", 1.0}, {"count", 2}},
        {{"island", 0}, {"cell", {2, 3}}, {"id", 5}, {"speedup", 2.5}, {"count", 1}},
        {{"island", 1}, {"cell", {5, 5}}, {"id", 7}, {"speedup", 0.5}, {"count", 1}}}}};
  svg = GridSvg(grid);
  ExpectWholeSvgs(svg, 1);
  EXPECT_EQ(Count(svg, "class=\"elite\""), 3u);
  EXPECT_NE(svg.find("code_size"), std::string::npos);
  EXPECT_NE(svg.find("roofline.fraction"), std::string::npos);
  EXPECT_EQ(GridSvg({{"strategy", "agent"}, {"features", json::array()}}), "");
}

TEST(Charts, ScalesGiveFewTicksEvenOnOddRanges) {
  EXPECT_EQ((Scale{0, 10, 0, 100}.Ticks()), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ((Scale{0.5, 200, 0, 100, true}.Ticks()), (std::vector<double>{1, 10, 100}));
  EXPECT_LE((Scale{1e17, 1e17 + 2, 0, 100}.Ticks().size()), 21u);  // steps lost in rounding
  EXPECT_TRUE((Scale{0, 1e300 * 1e10, 0, 100, true}.Ticks().empty()));
}

TEST(Charts, OddOrEmptyAnswersGiveValidSvgs) {
  for (const json& j : {json::object(), json(nullptr), json::array(),
                        json{{"nodes", {{"x", nullptr}, 3}}, {"best", "no"}, {"points", {{}}}}}) {
    ExpectWholeSvgs(ProgressSvg(j), 1);
    ExpectWholeSvgs(LineageSvg(j), 1);
    ExpectWholeSvgs(RooflineSvg(j), 1);
    EXPECT_EQ(GridSvg(j), "");
  }
}

class ReportTest : public TempDirTest {};

store::Candidate Make(int64_t parent, const std::string& code, const std::string& verdict,
                      double speedup) {
  store::Candidate c;
  c.parent_id = parent;
  c.origin = parent ? "llm" : "initial";
  c.code = code;
  c.code_hash = "h-" + code;
  c.verdict = verdict;
  c.speedup = speedup;
  c.time_ms = speedup > 0 ? 10 / speedup : 0;
  c.feedback = kAttack;
  c.result = {{"verdict", verdict},
              {"detail", {{"message", std::string("tolerance exceeded ") + kAttack}}},
              {"time_ms", {{"median", c.time_ms}, {"p10", 1.0}, {"p90", 2.0}, {"runs", 9}}},
              {"baselines", {{{"name", kAttack}, {"speedup", 3.0}}}}};
  return c;
}

TEST_F(ReportTest, UntrustedTextIsEscapedEverywhere) {
  auto store = store::RunStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)
                  ->SetMeta("options", json{{"strategy", "agent"},
                                            {"task_dir", std::string("/t/") + kAttack},
                                            {"llm", {kAttack}}}
                                           .dump())
                  .ok());
  ASSERT_TRUE((*store)->Add(Make(0, "int f() { return 1; }\n", "ok", 1.0)).ok());
  const std::string code = std::string("int f() { return 2; }  /* ") + kAttack + " ```` */\n";
  ASSERT_TRUE((*store)->Add(Make(1, code, "ok", 2.0)).ok());
  ASSERT_TRUE((*store)->Add(Make(2, kAttack, std::string("wrong_answer") + kAttack, 0)).ok());

  auto view = RunView::Open(dir_);
  ASSERT_TRUE(view.ok()) << view.status().message();
  const auto gathered = GatherReport(**view);
  ASSERT_TRUE(gathered.ok()) << gathered.status().message();
  const ReportData& data = *gathered;
  ASSERT_TRUE(data.winner.is_object());
  EXPECT_EQ(data.winner["id"], 2);

  const std::string html = ReportHtml(data);
  EXPECT_EQ(html.find(kAttack), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find(EscapeHtml(kAttack)), std::string::npos);   // shown, as text
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);  // and no script could run
  ExpectWholeSvgs(html, 4);  // progress twice, roofline, lineage (no grid: not evolve)

  const MarkdownReport md = ReportMarkdown(data);
  EXPECT_EQ(md.images.size(), 4u);
  // Raw only inside the winner's code, whose fence outlasts its backtick run.
  EXPECT_EQ(Count(md.markdown, kAttack), 3u);  // the code, its diff, the verdict message
  EXPECT_NE(md.markdown.find("`````c\n"), std::string::npos);
  for (const auto& [name, svg] : md.images) EXPECT_EQ(svg.find(kAttack), std::string::npos);
}

TEST_F(ReportTest, AnEmptyRunGivesAWholeReport) {
  auto store = store::RunStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      (*store)->SetMeta("options", R"({"strategy": "evolve", "task_dir": "/t/softmax"})").ok());
  auto view = RunView::Open(dir_);
  ASSERT_TRUE(view.ok()) << view.status().message();
  const auto gathered = GatherReport(**view);
  ASSERT_TRUE(gathered.ok()) << gathered.status().message();
  const ReportData& data = *gathered;
  EXPECT_TRUE(data.winner.is_null());
  EXPECT_FALSE(data.has_report_json);

  const std::string html = ReportHtml(data);
  ExpectWholeSvgs(html, 5);  // progress over evaluations and time, roofline, lineage, empty grid
  EXPECT_NE(html.find("No correct candidate yet."), std::string::npos);
  EXPECT_NE(html.find("running"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  const MarkdownReport md = ReportMarkdown(data);
  EXPECT_EQ(md.images.size(), 5u);
  EXPECT_NE(md.markdown.find("No correct candidate yet."), std::string::npos);
}

}  // namespace
}  // namespace kf::web
