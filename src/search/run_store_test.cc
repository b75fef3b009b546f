#include "search/run_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "util/temp_dir_test.h"

namespace kf::search {
namespace {

class RunStoreTest : public TempDirTest {};

Candidate Make(const std::string& code, const std::string& verdict, double speedup) {
  Candidate c;
  c.origin = "llm";
  c.code = code;
  c.code_hash = "h-" + code;
  c.verdict = verdict;
  c.speedup = speedup;
  c.result = {{"verdict", verdict}};
  return c;
}

TEST_F(RunStoreTest, CandidatesSurviveReopeningAndAreFoundByHash) {
  {
    auto s = RunStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_TRUE((*s)->Add(Make("a", "ok", 1.0)).ok());
    ASSERT_TRUE((*s)->Add(Make("b", "wrong_answer", 0)).ok());
    ASSERT_TRUE((*s)->Add(Make("c", "ok", 3.0)).ok());
    (*s)->SetMeta("options", "{}");
  }
  auto s = RunStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Size(), 3);
  EXPECT_EQ((*s)->GetMeta("options").value_or(""), "{}");
  auto c = (*s)->FindByHash("h-b");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, 2);
  EXPECT_EQ(c->code, "b");
  EXPECT_EQ(c->result["verdict"], "wrong_answer");
  EXPECT_EQ((*s)->Best()->code, "c");
  auto counts = (*s)->Counts();
  EXPECT_EQ(counts.total, 3);
  EXPECT_EQ(counts.by_verdict["ok"], 2);
  EXPECT_EQ((*s)->List(1).size(), 2u);
}

TEST_F(RunStoreTest, AFileThatIsNotAStoreOrFromAnotherSchemaIsRefused) {
  std::filesystem::create_directories(dir_);
  { std::ofstream(dir_ / "run.sqlite") << "this is not a database, just text of some length....."; }
  auto s = RunStore::Open(dir_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("run.sqlite"), std::string::npos);

  std::filesystem::remove_all(dir_);
  {
    auto fresh = RunStore::Open(dir_);
    ASSERT_TRUE(fresh.ok());
    (*fresh)->SetMeta("schema_version", "99");
  }
  auto old = RunStore::Open(dir_);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("schema version 99"), std::string::npos);
}

}  // namespace
}  // namespace kf::search
