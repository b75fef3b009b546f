// The dashboard's queries: what a reader sees of a run while it is written.
#include "store/run_reader.h"

#include <gtest/gtest.h>

#include "store/call_store.h"
#include "store/run_store.h"
#include "store/test_sql.h"
#include "util/temp_dir_test.h"

namespace kf::store {
namespace {

namespace fs = std::filesystem;

class RunReaderTest : public TempDirTest {};

Candidate Make(int64_t parent, int island, const std::string& code, const std::string& verdict,
               double speedup) {
  Candidate c;
  c.parent_id = parent;
  c.island = island;
  c.origin = parent ? "llm" : "initial";
  c.code = code;
  c.code_hash = "h-" + code;
  c.verdict = verdict;
  c.speedup = speedup;
  c.time_ms = speedup > 0 ? 10 / speedup : 0;
  c.result = {{"verdict", verdict}, {"detail", {{"resources", {{{"registers", 32}}}}}}};
  if (verdict == "ok") {
    c.result["roofline"] = {{"flops", 1e9},          {"bytes", 1e8},    {"achieved_gflops", 100.0},
                            {"achieved_gbps", 10.0}, {"fraction", 0.5}, {"peak_gflops", 1000.0},
                            {"peak_gbps", 100.0}};
    c.result["speedup_ci"] = {speedup * 0.9, speedup * 1.1};
  }
  return c;
}

TEST_F(RunReaderTest, ReadsWhatWasAppendedSinceTheCursor) {
  auto store = RunStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->SetMeta("options", R"({"strategy": "evolve"})").ok());
  ASSERT_TRUE((*store)->Add(Make(0, 0, "abcd", "ok", 1.0)).ok());
  ASSERT_TRUE((*store)->Add(Make(1, 1, "x", "compile_error", 0)).ok());
  ASSERT_TRUE((*store)->AddMigration(1, 1, 0, 1).ok());
  auto calls = CallStore::Open((*store)->db_path());
  ASSERT_TRUE(calls.ok());
  CallRecord call;
  call.request_key = "k";
  call.provider = "openai:m";
  call.model = "m";
  call.request = R"({"messages": [{"role": "user", "content": "hi"}]})";
  call.reply = "code";
  call.prompt_tokens = 7;
  call.completion_tokens = 3;
  call.cost_usd = 0.25;
  ASSERT_TRUE((*calls)->Record(call).ok());

  auto reader = RunReader::Open(dir_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->Meta("options")->value_or(""), R"({"strategy": "evolve"})");
  const std::vector<std::string> features = {"code_size", "speedup", "detail.resources.0.registers",
                                             "no.such.path"};
  auto first = (*reader)->ReadSince({}, features);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->candidates.size(), 2u);
  const CandidateRow& a = first->candidates[0];
  EXPECT_EQ(a.id, 1);
  EXPECT_EQ(a.origin, "initial");
  EXPECT_TRUE(a.has_roofline);
  EXPECT_DOUBLE_EQ(a.flops, 1e9);
  EXPECT_DOUBLE_EQ(a.fraction, 0.5);
  EXPECT_EQ(a.peak_gflops, 1000.0);
  EXPECT_EQ(a.speedup_ci_low, 0.9);
  EXPECT_EQ(a.features, (std::vector<double>{4, 1, 32, 0}));
  EXPECT_TRUE(a.params.empty());
  const CandidateRow& b = first->candidates[1];
  EXPECT_EQ(b.parent, 1);
  EXPECT_EQ(b.island, 1);
  EXPECT_FALSE(b.has_roofline);
  EXPECT_FALSE(b.speedup_ci_low.has_value());
  ASSERT_EQ(first->migrations.size(), 1u);
  EXPECT_EQ(first->migrations[0].to, 1);
  EXPECT_EQ(first->llm.calls, 1);
  EXPECT_EQ(first->llm.prompt_tokens, 7);
  EXPECT_DOUBLE_EQ(first->llm.cost_usd, 0.25);
  EXPECT_EQ(first->time_used_s, "");
  EXPECT_EQ(first->cursor.candidate, 2);

  // Nothing new: nothing read, the cursor stays.
  auto again = (*reader)->ReadSince(first->cursor, features);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->candidates.empty());
  EXPECT_TRUE(again->migrations.empty());
  EXPECT_EQ(again->llm.calls, 0);
  EXPECT_EQ(again->cursor.llm_call, first->cursor.llm_call);

  // Written after the reader opened: seen at the next read, and only that.
  Candidate tuned = Make(1, 0, "abcdef", "ok", 3.0);
  tuned.params = {{"BLOCK", "256"}};
  ASSERT_TRUE((*store)->Add(tuned).ok());
  ASSERT_TRUE((*store)->SetMeta("time_used_s", "42.5").ok());
  auto next = (*reader)->ReadSince(again->cursor, features);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->candidates.size(), 1u);
  EXPECT_EQ(next->candidates[0].id, 3);
  EXPECT_EQ(next->candidates[0].params, R"({"BLOCK":"256"})");
  EXPECT_EQ(next->candidates[0].features[0], 6);
  EXPECT_EQ(next->time_used_s, "42.5");

  auto full = (*reader)->GetCandidate(3);
  ASSERT_TRUE(full.ok() && *full);
  EXPECT_EQ((*full)->code, "abcdef");
  EXPECT_EQ((*full)->params["BLOCK"], "256");
  EXPECT_FALSE((*(*reader)->GetCandidate(99)).has_value());
  auto got = (*reader)->GetCall(1);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->reply, "code");
  EXPECT_EQ((*got)->provider, "openai:m");
  EXPECT_NE((*got)->request.find("hi"), std::string::npos);
  EXPECT_TRUE((*got)->error_kind.empty());
  EXPECT_FALSE((*(*reader)->GetCall(2)).has_value());
}

TEST_F(RunReaderTest, AFailedReadIsReturnedNotTakenForNoRows) {
  auto store = RunStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Add(Make(0, 0, "a", "ok", 1.0)).ok());
  auto reader = RunReader::Open(dir_);
  ASSERT_TRUE(reader.ok());
  ASSERT_EQ(testing::ExecSql((*store)->db_path(), "DROP TABLE candidates"), "");
  auto delta = (*reader)->ReadSince({}, {"code_size"});
  ASSERT_FALSE(delta.ok());
  EXPECT_NE(delta.status().message().find("candidates"), std::string::npos);
  EXPECT_NE(delta.status().message().find("run.sqlite"), std::string::npos);
  EXPECT_FALSE((*reader)->GetCandidate(1).ok());
}

TEST_F(RunReaderTest, WhatIsNotARunIsRefusedWithTheReason) {
  auto none = RunReader::Open(dir_ / "absent");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("not a directory"), std::string::npos);
  fs::create_directories(dir_);
  auto empty = RunReader::Open(dir_);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no run.sqlite"), std::string::npos);
  // A database without the run's tables.
  ASSERT_EQ(testing::ExecSql(dir_ / "run.sqlite", "CREATE TABLE other (x)"), "");
  auto other = RunReader::Open(dir_);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("no meta table"), std::string::npos);
  // The older kforge's store caught before it recorded its version.
  ASSERT_EQ(testing::ExecSql(dir_ / "run.sqlite", "CREATE TABLE meta (key, value)"), "");
  auto unversioned = RunReader::Open(dir_);
  ASSERT_FALSE(unversioned.ok());
  EXPECT_NE(unversioned.status().message().find("schema version (none)"), std::string::npos);
  ASSERT_EQ(
      testing::ExecSql(dir_ / "run.sqlite", "INSERT INTO meta VALUES ('schema_version', '1')"), "");
  auto no_candidates = RunReader::Open(dir_);
  ASSERT_FALSE(no_candidates.ok());
  EXPECT_NE(no_candidates.status().message().find("no candidates table"), std::string::npos);
}

}  // namespace
}  // namespace kf::store
