// The schema and its migrations: a new store, and stores written by older kforge builds.
#include "store/schema.h"

#include <gtest/gtest.h>

#include <fstream>

#include "store/call_store.h"
#include "store/run_reader.h"
#include "store/run_store.h"
#include "store/test_sql.h"
#include "util/temp_dir_test.h"

namespace kf::store {
namespace {

namespace fs = std::filesystem;
using testing::ExecSql;
using testing::QueryText;

// The run store's and the call log's tables exactly as kforge wrote them before the schema
// moved to src/store/ (search/run_store.cc and llm/call_log.cc), and the version it recorded.
constexpr const char* kRunStoreSchemaBefore = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,
  parent_id INTEGER,
  origin TEXT NOT NULL,
  strategy TEXT,
  round INTEGER, island INTEGER,
  code TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,
  speedup REAL, time_ms REAL,
  feedback TEXT,
  result TEXT,
  params TEXT,
  llm_call INTEGER,
  eval_seconds REAL
);
CREATE INDEX IF NOT EXISTS candidates_by_hash ON candidates (code_hash);
CREATE TABLE IF NOT EXISTS migrations (
  step INTEGER, candidate_id INTEGER, from_island INTEGER, to_island INTEGER,
  UNIQUE (step, candidate_id, from_island, to_island)
);
)sql";
constexpr const char* kCallLogSchemaBefore = R"sql(
CREATE TABLE IF NOT EXISTS llm_calls (
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,              -- unix time the call ended
  request_key TEXT NOT NULL,
  provider TEXT NOT NULL,        -- the spec as written
  model TEXT,                    -- as the provider reported it
  request TEXT NOT NULL,         -- Request::ToJson
  reply TEXT,
  finish_reason TEXT,
  prompt_tokens INTEGER, completion_tokens INTEGER, tokens_estimated INTEGER,
  latency_s REAL, first_token_s REAL, attempts INTEGER,
  cost_usd REAL NOT NULL DEFAULT 0,
  cached INTEGER NOT NULL DEFAULT 0,
  error_kind TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS llm_calls_by_key ON llm_calls (request_key);
)sql";

// A run as the older kforge left it: two candidates, a migration, a model call.
constexpr const char* kRowsBefore = R"sql(
PRAGMA journal_mode=WAL;
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO meta VALUES ('options', '{"strategy": "evolve", "task_dir": "/t/softmax"}');
INSERT INTO meta VALUES ('time_used_s', '12.5');
INSERT INTO candidates (at, parent_id, origin, strategy, round, island, code, code_hash, verdict,
  speedup, time_ms, feedback, result, params, llm_call, eval_seconds)
  VALUES (1000, 0, 'initial', 'evolve', 0, 0, 'int a;', 'h1', 'ok', 1.0, 10.0, 'fine',
          '{"verdict": "ok", "roofline": {"flops": 100, "bytes": 50, "fraction": 0.25}}', '{}',
          0, 1.5);
INSERT INTO candidates (at, parent_id, origin, strategy, round, island, code, code_hash, verdict,
  speedup, time_ms, feedback, result, params, llm_call, eval_seconds)
  VALUES (1001, 1, 'llm', 'evolve', 1, 1, 'int b;', 'h2', 'ok', 2.0, 5.0, 'faster',
          '{"verdict": "ok", "speedup_ci": [1.8, 2.2]}', '{"BLOCK": "64"}', 1, 2.5);
INSERT INTO migrations VALUES (1, 2, 1, 0);
INSERT INTO llm_calls (at, request_key, provider, model, request, reply, finish_reason,
  prompt_tokens, completion_tokens, tokens_estimated, latency_s, first_token_s, attempts,
  cost_usd, cached) VALUES (1001, 'key-1', 'openai:m', 'm', '{"messages": []}', 'reply text',
  'stop', 100, 20, 0, 3.0, 0.5, 1, 0.01, 0);
)sql";

class SchemaTest : public TempDirTest {
 protected:
  fs::path db() const { return dir_ / "run.sqlite"; }
  void WriteOldRun() {
    fs::create_directories(dir_);
    ASSERT_EQ(ExecSql(db(), kRunStoreSchemaBefore), "");
    ASSERT_EQ(ExecSql(db(), kCallLogSchemaBefore), "");
    ASSERT_EQ(ExecSql(db(), kRowsBefore), "");
  }
};

TEST_F(SchemaTest, ANewStoreHasEveryTableAndTheVersion) {
  auto store = RunStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(QueryText(db(), "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(QueryText(db(), "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
  for (const char* table : {"meta", "candidates", "migrations", "llm_calls"}) {
    EXPECT_EQ(QueryText(db(), std::string("SELECT count(*) FROM sqlite_master WHERE name = '") +
                                  table + "'"),
              "1")
        << table;
  }
  EXPECT_EQ(QueryText(db(), "PRAGMA journal_mode"), "wal");
  // Opening again changes nothing.
  store->reset();
  ASSERT_TRUE(RunStore::Open(dir_).ok());
  EXPECT_EQ(QueryText(db(), "PRAGMA user_version"), std::to_string(kSchemaVersion));
}

TEST_F(SchemaTest, AStoreOfTheOlderKforgeOpensByMigrationWithItsRows) {
  WriteOldRun();
  EXPECT_EQ(QueryText(db(), "PRAGMA user_version"), "0");
  // Read-only first: the dashboard reads an older run without changing it.
  {
    auto reader = RunReader::Open(dir_);
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    auto delta = (*reader)->ReadSince({}, {"code_size", "roofline.fraction"});
    ASSERT_TRUE(delta.ok()) << delta.status().message();
    ASSERT_EQ(delta->candidates.size(), 2u);
    EXPECT_EQ(delta->candidates[0].features, (std::vector<double>{6, 0.25}));
    EXPECT_EQ(delta->migrations.size(), 1u);
    EXPECT_EQ(delta->llm.calls, 1);
    EXPECT_EQ(QueryText(db(), "PRAGMA user_version"), "0");
  }
  auto store = RunStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(QueryText(db(), "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto options = (*store)->GetMeta("options");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->value_or(""), R"({"strategy": "evolve", "task_dir": "/t/softmax"})");
  auto second = (*store)->Get(2);
  ASSERT_TRUE(second.ok() && *second) << second.status().message();
  EXPECT_EQ((*second)->code, "int b;");
  EXPECT_EQ((*second)->parent_id, 1);
  EXPECT_EQ((*second)->island, 1);
  EXPECT_EQ((*second)->params["BLOCK"], "64");
  EXPECT_EQ((*second)->result["speedup_ci"][0], 1.8);
  EXPECT_EQ((*second)->llm_call, 1);
  EXPECT_DOUBLE_EQ((*second)->at, 1001);
  auto counts = (*store)->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 2);
  // The run goes on: new rows follow the old ones.
  Candidate c;
  c.origin = "llm";
  c.code = "int c;";
  c.code_hash = "h3";
  c.verdict = "compile_error";
  auto id = (*store)->Add(c);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, 3);

  auto calls = CallStore::Open(db());
  ASSERT_TRUE(calls.ok()) << calls.status().message();
  auto hit = (*calls)->Lookup("key-1");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ((*hit)->text, "reply text");
  EXPECT_EQ((*hit)->prompt_tokens, 100);
  auto sum = (*calls)->Sum();
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->calls, 1);
  EXPECT_DOUBLE_EQ(sum->cost_usd, 0.01);
}

TEST_F(SchemaTest, AnOlderStoreWithoutTheLaterTablesGetsThem) {
  // A run from before evolve and without a model: no migrations, no llm_calls.
  fs::create_directories(dir_);
  ASSERT_EQ(ExecSql(db(), kRunStoreSchemaBefore), "");
  ASSERT_EQ(ExecSql(db(), "DROP TABLE migrations; INSERT INTO meta VALUES ('schema_version', '1')"),
            "");
  EXPECT_EQ(QueryText(db(), "SELECT count(*) FROM sqlite_master WHERE name = 'migrations'"), "0");
  {
    auto reader = RunReader::Open(dir_);
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    auto delta = (*reader)->ReadSince({}, {});
    ASSERT_TRUE(delta.ok()) << delta.status().message();
    EXPECT_TRUE(delta->migrations.empty());
    auto call = (*reader)->GetCall(1);
    ASSERT_TRUE(call.ok());
    EXPECT_FALSE(call->has_value());
  }
  auto store = RunStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_TRUE((*store)->AddMigration(1, 1, 0, 1).ok());
  EXPECT_EQ(QueryText(db(), "SELECT count(*) FROM sqlite_master WHERE name = 'llm_calls'"), "1");
}

TEST_F(SchemaTest, TheSharedCallLogOfTheOlderKforgeOpens) {
  const fs::path log = dir_ / "llm.sqlite";
  fs::create_directories(dir_);
  ASSERT_EQ(ExecSql(log, kCallLogSchemaBefore), "");
  ASSERT_EQ(ExecSql(log,
                    "INSERT INTO llm_calls (at, request_key, provider, request, reply) VALUES "
                    "(1, 'k', 'openai:m', '{}', 'old reply')"),
            "");
  auto calls = CallStore::Open(log);
  ASSERT_TRUE(calls.ok()) << calls.status().message();
  auto hit = (*calls)->Lookup("k");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ((*hit)->text, "old reply");
  EXPECT_EQ(QueryText(log, "PRAGMA user_version"), std::to_string(kSchemaVersion));
}

TEST_F(SchemaTest, StoresOfANewerKforgeAreRefusedUnchanged) {
  WriteOldRun();
  ASSERT_EQ(ExecSql(db(), "PRAGMA user_version = 99"), "");
  for (const auto& why : {RunStore::Open(dir_).status(), RunReader::Open(dir_).status(),
                          CallStore::Open(db()).status()}) {
    EXPECT_NE(why.message().find("schema version 99"), std::string::npos) << why.message();
  }
  EXPECT_EQ(QueryText(db(), "PRAGMA user_version"), "99");
  // An older kforge's version key that disagrees is refused too.
  ASSERT_EQ(ExecSql(db(),
                    "PRAGMA user_version = 0; UPDATE meta SET value = '7' WHERE key = "
                    "'schema_version'"),
            "");
  auto old = RunStore::Open(dir_);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("schema version 7"), std::string::npos);
}

TEST_F(SchemaTest, AFileThatIsNotADatabaseIsRefusedByName) {
  fs::create_directories(dir_);
  { std::ofstream(db()) << "this is not a database, just text of some length....."; }
  auto store = RunStore::Open(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("run.sqlite"), std::string::npos);
  auto reader = RunReader::Open(dir_);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("run.sqlite"), std::string::npos);
}

}  // namespace
}  // namespace kf::store
