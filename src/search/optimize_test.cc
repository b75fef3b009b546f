// The optimize driver with a fake judge: which candidate it makes the run's best, what it records
// and reports, and the registry it chooses strategies from.
#include "search/optimize.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "search/fake_judge_test.h"
#include "search/strategy.h"

namespace kf::search {
namespace {

using OptimizeDriverTest = FakeRunTest;

// Judges `code` as a candidate of the run and returns it.
Candidate JudgeOne(RunContext& ctx, const std::string& code) {
  Candidate extra;
  extra.origin = "llm";
  extra.parent_id = ctx.initial->id;
  auto c = ctx.Judge(code, extra);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : Candidate{};
}

TEST_F(OptimizeDriverTest, ASpeedupThatIsNotSignificantNeverBecomesTheBest) {
  Start("// initial\n", [](const std::string& code) {
    if (code == "// noisy\n") return FakeOk(2, 5.0, std::pair{1.005, 9.0});  // reaches 1.01
    if (code == "// slower-but-sure\n") return FakeOk(8, 1.25);
    if (code == "// slowdown\n") return FakeOk(20, 0.5);
    if (code == "// wrong\n") return FakeVerdict(eval::Verdict::kWrongAnswer, "differs");
    return FakeOk(10, 1.0);
  });
  const int64_t initial = ctx_.initial->id;
  const Candidate noisy = JudgeOne(ctx_, "// noisy\n");
  EXPECT_EQ(noisy.verdict, "ok");
  EXPECT_FALSE(noisy.result.value("speedup_significant", true));
  EXPECT_EQ(ctx_.Best().id, initial);  // the fastest median, but no evidence

  JudgeOne(ctx_, "// wrong\n");
  JudgeOne(ctx_, "// slowdown\n");
  EXPECT_EQ(ctx_.Best().id, initial);

  const Candidate sure = JudgeOne(ctx_, "// slower-but-sure\n");
  EXPECT_EQ(ctx_.Best().id, sure.id);
  JudgeOne(ctx_, "// noisy\n");  // judged again: found in the store, still not the best
  EXPECT_EQ(ctx_.Best().id, sure.id);
  EXPECT_EQ(judge_->judged.size(), 5u);
  EXPECT_EQ(ctx_.judged, 6);
  EXPECT_EQ(ctx_.new_evals, 5);
}

TEST_F(OptimizeDriverTest, TheBestIsTheLowestOwnTimeNotTheHighestSpeedup) {
  Start("// initial\n", [](const std::string& code) {
    if (code == "// quick\n") return FakeOk(5, 2.0);
    // Its baseline was timed slower, so its ratio is higher, but it runs longer itself.
    if (code == "// lucky-baseline\n") return FakeOk(6, 3.0);
    if (code == "// quicker-but-noisy\n") return FakeOk(4, 2.5, std::pair{0.9, 4.0});
    return FakeOk(10, 1.0);
  });
  const Candidate quick = JudgeOne(ctx_, "// quick\n");
  JudgeOne(ctx_, "// lucky-baseline\n");
  JudgeOne(ctx_, "// quicker-but-noisy\n");
  EXPECT_EQ(ctx_.Best().id, quick.id);
  EXPECT_DOUBLE_EQ(ctx_.Best().time_ms, 5.0);
}

TEST_F(OptimizeDriverTest, ARunOfTuneJudgesThroughTheGivenJudgeAndReportsTheSignificantBest) {
  const std::filesystem::path start = dir_ / "start" / "tunable.c";
  std::filesystem::create_directories(start.parent_path());
  std::ofstream(start) << "// kforge-tune: BLOCK = 8, 16, 32\n"
                          "#ifndef BLOCK\n#define BLOCK 8\n#endif\n"
                          "void kernel(void) {}\n";
  OptimizeOptions o;
  o.task_dir = std::filesystem::path(KFORGE_SOURCE_DIR) / "tasks" / "cpu" / "softmax_rows";
  o.strategy = "tune";
  o.start_program = start;
  o.run_dir = dir_ / "run";
  o.budget_evals = 10;
  std::vector<std::string> judged;  // outlives the run's judge
  auto report = RunOptimize(o, [&](const task::Task& task, const eval::EvalOptions&) {
    EXPECT_EQ(task.name, "softmax_rows");
    return std::make_unique<FakeJudge>([&judged](const std::string& code) {
      judged.push_back(code);
      std::smatch m;
      if (!std::regex_search(code, m, std::regex("BLOCK=(\\d+)"))) return FakeOk(10, 1.0);
      if (m[1] == "32") return FakeOk(1, 10.0, std::pair{0.9, 40.0});  // not significant
      if (m[1] == "16") return FakeOk(5, 2.0);
      return FakeOk(9.9, 1.01, std::pair{0.99, 1.03});
    });
  });
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(judged.size(), 4u);  // the starting program and the three values
  EXPECT_EQ((*report)["strategy"], std::string("tune"));
  EXPECT_EQ((*report)["best"]["params"], (nlohmann::json{{"BLOCK", "16"}}));
  EXPECT_EQ((*report)["candidates"], 4);
  EXPECT_EQ((*report)["stopped"], std::string("the strategy finished"));
  EXPECT_TRUE(std::filesystem::exists(o.run_dir / "report.json"));
  EXPECT_NE(ReadFile(o.run_dir / "best.c").find("#define BLOCK 16"), std::string::npos);
}

TEST_F(OptimizeDriverTest, AnUnknownStrategyIsRefusedWithTheRegisteredNames) {
  OptimizeOptions o;
  o.task_dir = std::filesystem::path(KFORGE_SOURCE_DIR) / "tasks" / "cpu" / "softmax_rows";
  o.strategy = "anneal";
  o.run_dir = dir_;
  auto r = RunOptimize(o, [](const task::Task&, const eval::EvalOptions&) {
    ADD_FAILURE() << "no judge is made for an unknown strategy";
    return std::unique_ptr<Judge>();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unknown strategy 'anneal' (agent, swarm, evolve, tune)");
}

TEST(StrategyRegistryTest, EveryStrategyIsFoundByNameAndOnlyTuneRunsWithoutModels) {
  EXPECT_EQ(StrategyNames(), "agent, swarm, evolve, tune");
  for (const Strategy& s : Strategies()) {
    const Strategy* found = FindStrategy(s.name);
    ASSERT_NE(found, nullptr) << s.name;
    EXPECT_EQ(found->name, s.name);
    EXPECT_NE(found->run, nullptr);
    EXPECT_EQ(found->uses_models, s.name != "tune") << s.name;
  }
  EXPECT_EQ(FindStrategy("Agent"), nullptr);
  EXPECT_EQ(FindStrategy(""), nullptr);
}

}  // namespace
}  // namespace kf::search
