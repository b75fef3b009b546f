// A suite's summary from its problems' outcomes: winners only from a model's correct program,
// correct within k attempts per model, fast_p and geometric means with failures as 1x, spend
// summed per model, and markdown that escapes what models and tasks wrote.
#include "search/suite_summary.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kf::search {
namespace {

using json = nlohmann::json;

store::AttemptRow Row(int64_t id, const std::string& model, const std::string& verdict,
                      double time_ms = 0) {
  store::AttemptRow r;
  r.id = id;
  r.model = model;
  r.origin = model.empty() ? "initial" : "llm";
  r.verdict = verdict;
  r.time_ms = time_ms;
  return r;
}

ProblemOutcome Won(const std::string& name, int64_t best, double speedup,
                   std::vector<store::AttemptRow> attempts) {
  ProblemOutcome p;
  p.name = name;
  p.state = "finished";
  p.attempts = std::move(attempts);
  p.report = {
      {"task", name},
      {"best", {{"id", best}, {"result", {{"baseline_name", "PyTorch eager"}}}}},
      {"baselines",
       json::array({{{"name", "initial"}, {"time_ms", 2.0}, {"speedup", speedup}},
                    {{"name", "torch.compile"}, {"time_ms", 1.0}, {"speedup", speedup / 2}}})}};
  return p;
}

TEST(SuiteSummaryTest, CountsWinnersAttemptsAndFastP) {
  std::vector<ProblemOutcome> problems;
  // a: model A wrong, then right (4x); model B right at once but slower than A's.
  problems.push_back(Won("a", 3, 4.0,
                         {Row(1, "", "ok", 2), Row(2, "A", "wrong_answer"), Row(3, "A", "ok", 0.5),
                          Row(4, "B", "ok", 0.9)}));
  problems.back().spend = {{"A", 2, 0, 100, 50, 0.5}, {"B", 1, 0, 10, 5, 0.25}};
  // b: the starting program stays the best (no model's winner): 1x, not fast.
  problems.push_back(Won("b", 1, 1.0, {Row(1, "", "ok", 2), Row(2, "A", "compile_error")}));
  // c: the run failed before anything was judged.
  ProblemOutcome c;
  c.name = "c";
  c.state = "failed";
  c.message = "exited with status 2: bad task";
  problems.push_back(c);

  const json s = SummarizeSuite("suite", problems, 3);
  ASSERT_EQ(s["problems"].size(), 3u);
  EXPECT_EQ(s["problems"][0]["verdict"], "faster");
  EXPECT_EQ(s["problems"][0]["winner"]["model"], "A");
  EXPECT_EQ(s["problems"][0]["first_correct"], 2);
  EXPECT_EQ(s["problems"][0]["baselines"][0]["name"], "PyTorch eager");
  EXPECT_EQ(s["problems"][1]["verdict"], "compile_error");
  EXPECT_TRUE(s["problems"][1]["winner"].is_null());
  EXPECT_EQ(s["problems"][2]["verdict"], "run failed");

  EXPECT_EQ(s["baselines"], json::array({"PyTorch eager", "torch.compile"}));
  EXPECT_NEAR(s["fast_p"]["PyTorch eager"]["0"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(s["fast_p"]["PyTorch eager"]["2"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(s["fast_p"]["torch.compile"]["2"].get<double>(), 0.0, 1e-12);
  EXPECT_NEAR(s["geomean"]["PyTorch eager"]["failures_as_1x"].get<double>(), std::cbrt(4.0), 1e-9);
  EXPECT_NEAR(s["geomean"]["torch.compile"]["winners_only"].get<double>(), 2.0, 1e-9);

  ASSERT_EQ(s["models"].size(), 2u);
  const json& a = s["models"][0];
  EXPECT_EQ(a["model"], "A");
  EXPECT_EQ(a["problems"], 2);
  EXPECT_EQ(a["correct_within"], json::array({0.0, 0.5, 0.5}));
  EXPECT_EQ(a["fastest"], 1);
  EXPECT_EQ(a["prompt_tokens"], 100);
  const json& b = s["models"][1];
  EXPECT_EQ(b["correct_within"], json::array({1.0, 1.0, 1.0}));
  EXPECT_EQ(b["fastest"], 0);
  EXPECT_NEAR(s["totals"]["cost_usd"].get<double>(), 0.75, 1e-12);
}

TEST(SuiteSummaryTest, MarkdownEscapesNamesAndMessages) {
  ProblemOutcome p;
  p.name = "x|<script>";
  p.state = "failed";
  p.message = "line one\n| `boom` |";
  const std::string md = SuiteMarkdown(SummarizeSuite("s*", {p}, 5));
  EXPECT_EQ(md.find("<script>"), std::string::npos) << md;
  EXPECT_NE(md.find("x\\|&lt;script&gt;"), std::string::npos) << md;
  EXPECT_EQ(md.find("line one\n"), std::string::npos) << md;
  EXPECT_NE(md.find("s\\*"), std::string::npos) << md;
}

TEST(SuiteSummaryTest, AnEmptySuiteHasNoBaselinesAndNoModels) {
  const json s = SummarizeSuite("empty", {}, 5);
  EXPECT_TRUE(s["baselines"].empty());
  EXPECT_TRUE(s["models"].empty());
  EXPECT_FALSE(SuiteMarkdown(s).empty());
}

}  // namespace
}  // namespace kf::search
