// The strategies against a fake judge (and, where they ask models, a fake model): what each one
// promises about the candidates it proposes, without a compiler or a worker.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "search/fake_judge_test.h"
#include "search/run_context.h"
#include "search/tune.h"

namespace kf::search {
namespace {

// The value of `#define NAME VALUE` in a tune variant, or "" when it has none.
std::string Defined(const std::string& code, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(code, m, std::regex("#define " + name + " (\\S+)"))) return "";
  return m[1];
}

constexpr char kTunable[] =
    "// kforge-tune: BLOCK = 8, 16, 32\n"
    "// kforge-tune: UNROLL = 1, 2\n"
    "void kernel(const float* x, float* y, int64_t n) {}\n";

// Times of the variants of kTunable: BLOCK=16 UNROLL=2 is the fastest; the plain program takes
// 10 ms.
eval::EvalResult TuneScript(const std::string& code) {
  const std::string block = Defined(code, "BLOCK"), unroll = Defined(code, "UNROLL");
  if (block.empty()) return FakeOk(10, 1.0);
  const double ms = block == "16" && unroll == "2" ? 2.0 : 9.0 - std::stod(block) / 8;
  return FakeOk(ms, 10 / ms);
}

using TuneStrategyTest = FakeRunTest;

TEST_F(TuneStrategyTest, VisitsEveryPointOfTheGridAndKeepsTheFastest) {
  ctx_.options.strategy = "tune";
  ctx_.options.budget_evals = 20;
  Start(kTunable, TuneScript);
  ASSERT_TRUE(RunTune(ctx_).ok());

  ASSERT_EQ(judge_->judged.size(), 7u);  // the starting program and 3 x 2 variants
  std::set<std::pair<std::string, std::string>> points;
  for (size_t i = 1; i < judge_->judged.size(); ++i) {
    points.insert({Defined(judge_->judged[i], "BLOCK"), Defined(judge_->judged[i], "UNROLL")});
  }
  const std::set<std::pair<std::string, std::string>> grid = {
      {"8", "1"}, {"8", "2"}, {"16", "1"}, {"16", "2"}, {"32", "1"}, {"32", "2"}};
  EXPECT_EQ(points, grid);

  for (const Candidate& c : Stored()) {
    if (c.origin == "initial") continue;
    EXPECT_EQ(c.origin, "tune");
    EXPECT_EQ(c.parent_id, ctx_.initial->id);
    EXPECT_EQ(c.params.value("BLOCK", ""), Defined(c.code, "BLOCK"));
    EXPECT_EQ(c.params.value("UNROLL", ""), Defined(c.code, "UNROLL"));
  }
  const Candidate best = ctx_.Best();
  EXPECT_EQ(best.params, (nlohmann::json{{"BLOCK", "16"}, {"UNROLL", "2"}}));
  EXPECT_DOUBLE_EQ(best.time_ms, 2.0);
}

TEST_F(TuneStrategyTest, ASpaceLargerThanTheBudgetIsSampledWithoutRepeats) {
  ctx_.options.strategy = "tune";
  ctx_.options.budget_evals = 4;  // the starting program and 3 of the 6 points
  Start(kTunable, TuneScript);
  ASSERT_TRUE(RunTune(ctx_).ok());
  ASSERT_EQ(judge_->judged.size(), 4u);
  std::set<std::string> variants(judge_->judged.begin() + 1, judge_->judged.end());
  EXPECT_EQ(variants.size(), 3u);
  EXPECT_TRUE(ctx_.ShouldStop());
  EXPECT_EQ(ctx_.stop_reason.rfind("evaluation budget", 0), 0u) << ctx_.stop_reason;
}

TEST_F(TuneStrategyTest, AProgramWithoutParametersIsRefused) {
  ctx_.options.strategy = "tune";
  Start("void kernel(const float* x, float* y, int64_t n) {}\n",
        [](const std::string&) { return FakeOk(10, 1.0); });
  const Status st = RunTune(ctx_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("declares no parameters"), std::string::npos);
  EXPECT_EQ(judge_->judged.size(), 1u);
}

// A reply with `marker` in a C block.
std::string Reply(const std::string& marker) {
  return "Here it is.\n```c\n// " + marker +
         "\nvoid kernel(const float* x, float* y, int64_t n) {}\n```\n";
}

// Scripted verdicts of the agent's candidates by their marker.
eval::EvalResult AgentScript(const std::string& code) {
  if (code.find("// a\n") != std::string::npos) return FakeOk(8, 1.25);
  if (code.find("// b\n") != std::string::npos) {
    return FakeVerdict(eval::Verdict::kWrongAnswer, "y[3] differs");
  }
  if (code.find("// c\n") != std::string::npos) return FakeOk(5, 2.0);
  // Faster than c by its median, but its interval reaches 1: no evidence it is faster at all.
  if (code.find("// d\n") != std::string::npos) return FakeOk(4, 2.5, std::pair{0.95, 3.0});
  if (code.find("// e\n") != std::string::npos) return FakeOk(6, 10.0 / 6);
  return FakeOk(10, 1.0);  // the starting program
}

using AgentStrategyTest = FakeRunTest;

TEST_F(AgentStrategyTest, EachCandidateRecordsTheParentItWasAskedToImprove) {
  ctx_.options.strategy = "agent";
  ctx_.options.attempts_per_round = 2;
  ctx_.options.budget_evals = 6;
  Start("// initial\nvoid kernel(const float* x, float* y, int64_t n) {}\n", AgentScript,
        {Reply("a"), Reply("b"), Reply("c"), Reply("d"), Reply("e")});
  ASSERT_TRUE(RunAgent(ctx_).ok());

  const auto all = Stored();
  ASSERT_EQ(all.size(), 6u);
  std::map<std::string, Candidate> by;
  for (const Candidate& c : all) {
    for (const char* m : {"a", "b", "c", "d", "e"}) {
      if (c.code.find("// " + std::string(m) + "\n") != std::string::npos) by[m] = c;
    }
  }
  ASSERT_EQ(by.size(), 5u);
  const int64_t initial = ctx_.initial->id;
  // Round 1 starts from the initial program, and b revises a (the conversation's last program);
  // round 2 from a, the best after round 1 (b is wrong), and d revises c; round 3 from c: d's
  // median is lower but not shown faster, so it never starts a round.
  EXPECT_EQ(by["a"].parent_id, initial);
  EXPECT_EQ(by["b"].parent_id, by["a"].id);
  EXPECT_EQ(by["c"].parent_id, by["a"].id);
  EXPECT_EQ(by["d"].parent_id, by["c"].id);
  EXPECT_EQ(by["e"].parent_id, by["c"].id);
  EXPECT_EQ(by["a"].round, 1);
  EXPECT_EQ(by["c"].round, 2);
  EXPECT_EQ(by["e"].round, 3);
  for (const auto& [m, c] : by) {
    EXPECT_EQ(c.origin, "llm");
    EXPECT_EQ(c.strategy, "agent");
  }

  // The winner's lineage runs through real parents back to the starting program.
  EXPECT_EQ(ctx_.Best().id, by["c"].id);  // e is slower than c; d is not significant
  std::vector<int64_t> chain;
  for (int64_t id = by["e"].id; id != 0;) {
    chain.push_back(id);
    auto c = ctx_.store->Get(id);
    ASSERT_TRUE(c.ok() && *c);
    id = (*c)->parent_id;
  }
  EXPECT_EQ(chain, (std::vector<int64_t>{by["e"].id, by["c"].id, by["a"].id, initial}));

  // The model saw the verdict of each attempt in the conversation.
  ASSERT_NE(model_, nullptr);
  ASSERT_GE(model_->prompts.size(), 2u);
  EXPECT_NE(model_->prompts[1].find("Verdict: ok"), std::string::npos);
}

using SwarmStrategyTest = FakeRunTest;

TEST_F(SwarmStrategyTest, EveryReplyOfARoundHasThatRoundsBestAsParent) {
  ctx_.options.strategy = "swarm";
  ctx_.options.samples_per_round = 2;
  ctx_.options.budget_evals = 5;
  Start("// initial\nvoid kernel(const float* x, float* y, int64_t n) {}\n", AgentScript,
        {Reply("a"), Reply("b"), Reply("c"), Reply("d")});
  ASSERT_TRUE(RunSwarm(ctx_).ok());
  const auto all = Stored();
  ASSERT_EQ(all.size(), 5u);
  for (const Candidate& c : all) {
    if (c.origin == "initial") continue;
    EXPECT_EQ(c.strategy, "swarm");
    const Candidate parent = **ctx_.store->Get(c.parent_id);
    // Round 1 from the starting program, round 2 from the best of round 1.
    if (c.round == 1) {
      EXPECT_EQ(c.parent_id, ctx_.initial->id);
    } else {
      EXPECT_EQ(c.round, 2);
      EXPECT_EQ(parent.verdict, "ok");
      EXPECT_NE(c.parent_id, ctx_.initial->id);
    }
  }
}

using EvolveStrategyTest = FakeRunTest;

TEST_F(EvolveStrategyTest, EveryChildIsJudgedOnAnIslandFromACorrectEarlierProgram) {
  ctx_.options.strategy = "evolve";
  ctx_.options.budget_evals = 7;
  ctx_.options.evolve = {{"islands", 2}, {"edits", "rewrite"}, {"migration_interval", 2}};
  Start("// initial\nvoid kernel(const float* x, float* y, int64_t n) {}\n", AgentScript,
        {Reply("a"), Reply("b"), Reply("c"), Reply("d"), Reply("e"), Reply("f")});
  ASSERT_TRUE(RunEvolve(ctx_).ok());
  const auto all = Stored();
  ASSERT_EQ(all.size(), 7u);  // the starting program and three generations of two
  std::set<int> islands;
  for (const Candidate& c : all) {
    if (c.origin == "initial") continue;
    EXPECT_EQ(c.strategy, "evolve");
    EXPECT_GE(c.round, 1);
    EXPECT_LT(c.parent_id, c.id);
    islands.insert(c.island);
    auto parent = ctx_.store->Get(c.parent_id);
    ASSERT_TRUE(parent.ok() && *parent);
    EXPECT_EQ((*parent)->verdict, "ok");  // a wrong program is never a parent
  }
  EXPECT_EQ(islands, (std::set<int>{0, 1}));
  EXPECT_EQ(ctx_.Best().verdict, "ok");
}

TEST_F(TuneStrategyTest, AVariantThatFailsIsRecordedAndTheSweepGoesOn) {
  ctx_.options.strategy = "tune";
  Start(kTunable, [](const std::string& code) {
    if (Defined(code, "BLOCK") == "8") {
      return FakeVerdict(eval::Verdict::kCompileError, "error: BLOCK too small");
    }
    return TuneScript(code);
  });
  ASSERT_TRUE(RunTune(ctx_).ok());
  EXPECT_EQ(judge_->judged.size(), 7u);
  int failed = 0;
  for (const Candidate& c : Stored()) {
    if (c.params.value("BLOCK", "") == "8") {
      EXPECT_EQ(c.verdict, "compile_error");
      ++failed;
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(ctx_.Best().params, (nlohmann::json{{"BLOCK", "16"}, {"UNROLL", "2"}}));
}

constexpr char kInitial[] = "// initial\nvoid kernel(const float* x, float* y, int64_t n) {}\n";

// Distinct correct replies "r1", "r2", ... (n of them), each a little faster than the last.
std::vector<std::string> ManyReplies(int n) {
  std::vector<std::string> replies;
  for (int i = 1; i <= n; ++i) replies.push_back(Reply("r" + std::to_string(i)));
  return replies;
}

eval::EvalResult SlightlyFaster(const std::string& code) {
  const size_t at = code.find("// r");
  if (at == std::string::npos) return FakeOk(10, 1.0);
  const double ms = 10.0 / (1 + 0.1 * std::stoi(code.substr(at + 4)));
  return FakeOk(ms, 10 / ms);
}

TEST_F(AgentStrategyTest, TheConversationKeepsTheBestAndTheLastAttemptsOnly) {
  ctx_.options.strategy = "agent";
  ctx_.options.attempts_per_round = 6;
  ctx_.options.budget_evals = 7;
  // r3 is the fastest; r1, r2, r4 and r5 slower, each a correct program.
  Start(
      kInitial,
      [](const std::string& code) {
        const size_t at = code.find("// r");
        if (at == std::string::npos) return FakeOk(10, 1.0);
        const int i = std::stoi(code.substr(at + 4));
        const double ms = i == 3 ? 2.0 : 5.0 + i;
        return FakeOk(ms, 10 / ms);
      },
      ManyReplies(6));
  ASSERT_TRUE(RunAgent(ctx_).ok());
  ASSERT_EQ(model_->sizes.size(), 6u);
  // system + task, then one attempt, then best and last (two attempts) at most.
  EXPECT_EQ(model_->sizes[0], 2u);
  EXPECT_EQ(model_->sizes[1], 4u);
  for (size_t i = 2; i < model_->sizes.size(); ++i) EXPECT_LE(model_->sizes[i], 6u) << i;
  // After r4 (slower than r3, the best): never told it is faster.
  const std::string after_r4 = model_->prompts[4];
  EXPECT_EQ(after_r4.find("It is faster"), std::string::npos) << after_r4;
  EXPECT_NE(after_r4.find("not faster than its parent"), std::string::npos) << after_r4;
  EXPECT_NE(after_r4.find("the best so far is #4"), std::string::npos) << after_r4;
}

TEST_F(AgentStrategyTest, TheEvaluationBudgetStopsTheLoop) {
  ctx_.options.strategy = "agent";
  ctx_.options.attempts_per_round = 3;
  ctx_.options.budget_evals = 4;
  Start(kInitial, SlightlyFaster, ManyReplies(10));
  ASSERT_TRUE(RunAgent(ctx_).ok());
  EXPECT_EQ(Stored().size(), 4u);
  EXPECT_EQ(judge_->judged.size(), 4u);
  EXPECT_EQ(model_->prompts.size(), 3u);
  EXPECT_EQ(ctx_.stop_reason, "evaluation budget spent (4)");
}

TEST_F(AgentStrategyTest, TheModelsTokenBudgetStopsTheLoop) {
  ctx_.options.strategy = "agent";
  ctx_.options.budget_evals = 50;
  models_config_.budget_tokens = 500;  // every fake reply counts 200 tokens
  Start(kInitial, SlightlyFaster, ManyReplies(10));
  ASSERT_TRUE(RunAgent(ctx_).ok());
  EXPECT_EQ(model_->prompts.size(), 3u);
  EXPECT_EQ(Stored().size(), 4u);
  EXPECT_EQ(ctx_.stop_reason, "LLM budget spent");
}

TEST_F(AgentStrategyTest, TheTimeBudgetStopsTheLoop) {
  ctx_.options.strategy = "agent";
  ctx_.options.budget_evals = 50;
  ctx_.options.budget_time_s = 60;
  Start(kInitial, SlightlyFaster, ManyReplies(10));
  ctx_.start_time -= 61;  // as a resumed run that had used its minute
  ASSERT_TRUE(RunAgent(ctx_).ok());
  EXPECT_TRUE(model_->prompts.empty());
  EXPECT_EQ(Stored().size(), 1u);
  EXPECT_EQ(ctx_.stop_reason, "time budget spent");
}

TEST_F(AgentStrategyTest, AFailedCandidateIsRecordedFedBackAndTheLoopGoesOn) {
  ctx_.options.strategy = "agent";
  ctx_.options.attempts_per_round = 3;
  ctx_.options.budget_evals = 4;
  Start(kInitial,
        [](const std::string& code) {
          if (code.find("// broken\n") != std::string::npos) {
            return FakeVerdict(eval::Verdict::kCompileError, "error: expected ';' on line 2");
          }
          return SlightlyFaster(code);
        },
        {"I would rather explain the idea first.", Reply("broken"), Reply("r1")});
  ASSERT_TRUE(RunAgent(ctx_).ok());
  const auto all = Stored();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].verdict, "no_code");
  EXPECT_EQ(all[2].verdict, "compile_error");
  EXPECT_EQ(all[3].verdict, "ok");
  // A reply without a program leaves the parent as it was; r1 revises the broken program.
  EXPECT_EQ(all[1].parent_id, ctx_.initial->id);
  EXPECT_EQ(all[2].parent_id, ctx_.initial->id);
  EXPECT_EQ(all[3].parent_id, all[2].id);
  EXPECT_EQ(judge_->judged.size(), 3u);  // a reply without a program is never judged
  ASSERT_EQ(model_->prompts.size(), 3u);
  EXPECT_NE(model_->prompts[1].find("no_code"), std::string::npos) << model_->prompts[1];
  EXPECT_NE(model_->prompts[2].find("expected ';' on line 2"), std::string::npos)
      << model_->prompts[2];
  EXPECT_EQ(ctx_.Best().id, all[3].id);
}

TEST_F(AgentStrategyTest, AProgramTheJudgeCannotJudgeStopsTheRunWithTheJudgesError) {
  ctx_.options.strategy = "agent";
  ctx_.options.budget_evals = 10;
  Start(
      kInitial,
      [](const std::string& code) -> Result<eval::EvalResult> {
        if (code.find("// r2\n") != std::string::npos) {
          return Status::Error("no worker could be started");
        }
        return SlightlyFaster(code);
      },
      ManyReplies(5));
  const Status st = RunAgent(ctx_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "no worker could be started");
  EXPECT_EQ(Stored().size(), 2u);  // the starting program and r1; r2 is not recorded
  EXPECT_EQ(model_->prompts.size(), 2u);
}

TEST_F(SwarmStrategyTest, NeverAsksForMoreThanTheEvaluationBudgetHasRoomFor) {
  ctx_.options.strategy = "swarm";
  ctx_.options.samples_per_round = 3;
  ctx_.options.budget_evals = 5;
  Start(kInitial, SlightlyFaster, ManyReplies(10));
  ASSERT_TRUE(RunSwarm(ctx_).ok());
  EXPECT_EQ(model_->prompts.size(), 4u);  // 3 in round 1, the 1 left in round 2
  const auto all = Stored();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[4].round, 2);
  EXPECT_EQ(ctx_.stop_reason, "evaluation budget spent (5)");
}

TEST_F(EvolveStrategyTest, TheEvaluationBudgetCutsTheLastGenerationShort) {
  ctx_.options.strategy = "evolve";
  ctx_.options.budget_evals = 5;
  ctx_.options.evolve = {{"islands", 3}, {"edits", "rewrite"}};
  Start(kInitial, SlightlyFaster, ManyReplies(10));
  ASSERT_TRUE(RunEvolve(ctx_).ok());
  EXPECT_EQ(model_->prompts.size(), 4u);  // 3 islands, then the 1 evaluation left
  const auto all = Stored();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[4].island, 0);
  EXPECT_EQ(ctx_.stop_reason, "evaluation budget spent (5)");
}

// A reply of SEARCH/REPLACE edits that replaces `search` by `replace`.
std::string EditReply(const std::string& search, const std::string& replace) {
  return "An edit.\n<<<<<<< SEARCH\n" + search + "\n=======\n" + replace + "\n>>>>>>> REPLACE\n";
}

TEST_F(EvolveStrategyTest, AFailedEditIsRecordedAndShownInTheIslandsNextPrompt) {
  ctx_.options.strategy = "evolve";
  ctx_.options.budget_evals = 3;
  ctx_.options.evolve = {{"islands", 1}};  // edits: diff
  Start(kInitial, SlightlyFaster,
        {EditReply("// not in the program", "// r1"), EditReply("// initial", "// r1")});
  ASSERT_TRUE(RunEvolve(ctx_).ok());
  const auto all = Stored();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].verdict, "bad_edit");
  EXPECT_EQ(all[2].verdict, "ok");
  EXPECT_EQ(all[2].parent_id, ctx_.initial->id);
  EXPECT_EQ(all[2].code.rfind("// r1\n", 0), 0u);
  EXPECT_EQ(judge_->judged.size(), 2u);  // the failed edit never reached the judge
  ASSERT_EQ(model_->prompts.size(), 2u);
  EXPECT_EQ(model_->prompts[0].find("edits that failed"), std::string::npos);
  EXPECT_NE(model_->prompts[1].find("candidate #" + std::to_string(all[1].id) + ": bad_edit"),
            std::string::npos)
      << model_->prompts[1];
  EXPECT_EQ(ctx_.Best().id, all[2].id);
}

}  // namespace
}  // namespace kf::search
