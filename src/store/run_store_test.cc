// The writers: the run store and the call log record, find and count what they wrote, and
// every failed write comes back as a Status.
#include "store/run_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "store/call_store.h"
#include "store/test_sql.h"
#include "util/temp_dir_test.h"

namespace kf::store {
namespace {

namespace fs = std::filesystem;

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
    ASSERT_TRUE((*s)->SetMeta("options", "{}").ok());
  }
  auto s = RunStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->Size(), 3);
  EXPECT_EQ((*s)->GetMeta("options")->value_or(""), "{}");
  EXPECT_FALSE((*s)->GetMeta("absent")->has_value());
  auto c = (*s)->FindByHash("h-b");
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ((*c)->id, 2);
  EXPECT_EQ((*c)->code, "b");
  EXPECT_EQ((*c)->result["verdict"], "wrong_answer");
  EXPECT_GT((*c)->at, 0);
  EXPECT_FALSE((*(*s)->FindByHash("h-none")).has_value());
  EXPECT_EQ((*(*s)->Best())->code, "c");
  EXPECT_FALSE((*(*s)->Get(99)).has_value());
  auto counts = (*s)->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 3);
  EXPECT_EQ(counts->by_verdict["ok"], 2);
  // A migration is recorded once, however often it is replayed.
  ASSERT_TRUE((*s)->AddMigration(10, 3, 0, 1).ok());
  ASSERT_TRUE((*s)->AddMigration(10, 3, 0, 1).ok());
  EXPECT_EQ(testing::QueryText((*s)->db_path(), "SELECT count(*) FROM migrations"), "1");
}

TEST_F(RunStoreTest, EveryFailedWriteIsReturned) {
  auto s = RunStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  const fs::path db = (*s)->db_path();
  for (const char* table : {"candidates", "meta", "migrations", "llm_calls"}) {
    ASSERT_EQ(testing::FailInserts(db, table), "");
  }
  auto id = (*s)->Add(Make("a", "ok", 1.0));
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("recording a candidate"), std::string::npos);
  EXPECT_NE(id.status().message().find("the disk is full"), std::string::npos);
  const Status meta = (*s)->SetMeta("time_used_s", "1");
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.message().find("time_used_s"), std::string::npos);
  EXPECT_NE(meta.message().find("run.sqlite"), std::string::npos);
  EXPECT_FALSE((*s)->AddMigration(1, 1, 0, 1).ok());

  auto calls = CallStore::Open(db);
  ASSERT_TRUE(calls.ok());
  CallRecord call;
  call.request_key = "k";
  call.provider = "openai:m";
  call.request = "{}";
  auto row = (*calls)->Record(call);
  ASSERT_FALSE(row.ok());
  EXPECT_NE(row.status().message().find("recording a model call"), std::string::npos);
}

// Writes to a database file the process may not write. Exits 0 when the store opened (it
// needs no migration) and each write was refused with a Status naming the file and the cause.
[[noreturn]] void WriteToReadOnlyStore(const fs::path& dir) {
  if (geteuid() == 0 && setuid(65534) != 0) std::_Exit(2);  // root writes anything: be nobody
  auto s = RunStore::Open(dir);
  if (!s.ok()) std::_Exit(3);
  const auto id = (*s)->Add(Make("a", "ok", 1.0));
  const Status meta = (*s)->SetMeta("k", "v");
  const Status migration = (*s)->AddMigration(1, 1, 0, 1);
  for (const Status& st : {id.status(), meta, migration}) {
    if (st.ok() || st.message().find("readonly") == std::string::npos ||
        st.message().find("run.sqlite") == std::string::npos) {
      std::_Exit(1);
    }
  }
  std::_Exit(0);
}

TEST_F(RunStoreTest, AReadOnlyStoreFileGivesAnError) {
  {
    auto s = RunStore::Open(dir_);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Add(Make("a", "ok", 1.0)).ok());
  }
  // The directory stays writable (SQLite keeps its WAL index beside the file); the file not.
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  ASSERT_EQ(chmod((dir_ / "run.sqlite").c_str(), 0444), 0);
  EXPECT_EXIT(WriteToReadOnlyStore(dir_), ::testing::ExitedWithCode(0), "");
}

TEST_F(RunStoreTest, CallLogRecordsLooksUpAndSums) {
  auto calls = CallStore::Open(dir_ / "llm.sqlite");
  ASSERT_TRUE(calls.ok()) << calls.status().message();
  CallRecord ok;
  ok.request_key = "k1";
  ok.provider = "openai:m";
  ok.model = "m-2024";
  ok.request = R"({"messages": []})";
  ok.reply = "hello";
  ok.finish_reason = "stop";
  ok.prompt_tokens = 10;
  ok.completion_tokens = 5;
  ok.cost_usd = 0.5;
  CallRecord failed = ok;
  failed.reply.reset();
  failed.finish_reason.reset();
  failed.error_kind = "server_error";
  failed.error = "boom";
  failed.request_key = "k2";
  CallRecord hit = ok;
  hit.cached = true;
  hit.cost_usd = 0;
  for (const auto* c : {&failed, &ok, &hit}) {
    auto id = (*calls)->Record(*c);
    ASSERT_TRUE(id.ok()) << id.status().message();
  }
  auto found = (*calls)->Lookup("k1");
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->text, "hello");
  EXPECT_EQ((*found)->model, "m-2024");
  EXPECT_EQ((*found)->completion_tokens, 5);
  EXPECT_FALSE((*(*calls)->Lookup("k2")).has_value());  // failed calls answer nothing
  auto sum = (*calls)->Sum();
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->calls, 3);
  EXPECT_EQ(sum->errors, 1);
  EXPECT_EQ(sum->cached, 1);
  EXPECT_EQ(sum->prompt_tokens, 20);  // the failed call's and the paid one's, not the hit's
  EXPECT_DOUBLE_EQ(sum->cost_usd, 1.0);
  EXPECT_EQ(testing::QueryText(dir_ / "llm.sqlite",
                               "SELECT count(*) FROM llm_calls WHERE reply IS NULL AND "
                               "error_kind = 'server_error'"),
            "1");
}

}  // namespace
}  // namespace kf::store
