#include "web/run_view.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/run_store.h"
#include "util/temp_dir_test.h"
#include "web/line_diff.h"
#include "web/report_page.h"

namespace kf::web {
namespace {

namespace fs = std::filesystem;
using store::Candidate;
using store::RunStore;

class RunViewTest : public TempDirTest {};

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
  c.result = {{"verdict", verdict}};
  if (verdict == "ok") {
    c.result["roofline"] = {{"flops", 1e9},          {"bytes", 1e8},    {"achieved_gflops", 100.0},
                            {"achieved_gbps", 10.0}, {"fraction", 0.5}, {"peak_gflops", 1000.0},
                            {"peak_gbps", 100.0}};
  }
  return c;
}

TEST_F(RunViewTest, ViewsFollowTheStoreAsItGrows) {
  auto store = RunStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      (*store)->SetMeta("options", R"({"strategy": "evolve", "task_dir": "/t/softmax"})").ok());
  ASSERT_TRUE((*store)->Add(Make(0, 0, "a\nb\nc\n", "ok", 1.0)).ok());
  ASSERT_TRUE((*store)->Add(Make(1, 1, "a\nB\nc\n", "ok", 2.0)).ok());
  ASSERT_TRUE((*store)->Add(Make(2, 1, "x", "compile_error", 0)).ok());
  ASSERT_TRUE((*store)->AddMigration(2, 2, 1, 0).ok());

  auto view = RunView::Open(dir_);
  ASSERT_TRUE(view.ok()) << view.status().message();
  auto s = *(*view)->Summary();
  EXPECT_EQ(s["candidates"], 3);
  EXPECT_EQ(s["verdicts"]["ok"], 2);
  EXPECT_EQ(s["best"]["id"], 2);
  EXPECT_EQ(s["task"], "softmax");
  EXPECT_EQ(s["islands"], 2);

  auto lineage = *(*view)->Lineage(-1, 100);
  ASSERT_EQ(lineage["nodes"].size(), 3u);
  EXPECT_EQ(lineage["nodes"][2][5], 2);  // depth of #3
  EXPECT_EQ(lineage["nodes"][1][7], 1);  // #2 is on the best's lineage
  EXPECT_EQ(lineage["migrations"].size(), 1u);
  EXPECT_EQ((*(*view)->Roofline())["points"].size(), 2u);
  EXPECT_EQ((*(*view)->Progress())["best"].size(), 2u);
  // Evolve's grid: #2 in island 1's grid and, migrated, in island 0's.
  int elites_of_2 = 0;
  const auto grid = *(*view)->Grid();
  for (const auto& cell : grid["cells"]) elites_of_2 += cell["id"] == 2;
  EXPECT_EQ(elites_of_2, 2) << grid.dump();

  // A faster candidate written after the view was read shows up at the next query, with its
  // tune parameters (only candidates that have some carry them).
  Candidate tuned = Make(2, 0, "a\nB\nc\nd\n", "ok", 5.0);
  tuned.params = {{"BLOCK", "256"}};
  ASSERT_TRUE((*store)->Add(tuned).ok());
  EXPECT_EQ((*(*view)->Summary())["best"]["id"], 4);
  const auto fastest = (*(*view)->Candidates({0, 10, "ok", -1, "speedup"}))["rows"];
  EXPECT_EQ(fastest[0]["id"], 4);
  EXPECT_EQ(fastest[0]["params"]["BLOCK"], "256");
  EXPECT_FALSE(fastest[1].contains("params"));
  const TextTable top = TopTable({{"rows", fastest}});
  EXPECT_EQ(top.header.back(), "params");
  EXPECT_EQ(top.rows[0].back(), "BLOCK=256");
  EXPECT_EQ(top.rows[1].back(), "");
  EXPECT_EQ((*(*view)->Candidates({0, 10, "", 1, "id"}))["total"], 2);

  auto c = (*view)->Candidate(4);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)["parent_code"], "a\nB\nc\n");
  EXPECT_EQ((*c)["diff_stat"]["added"], 1);
  EXPECT_EQ((*c)["diff_stat"]["removed"], 0);
  EXPECT_EQ((*(*view)->Candidate(2))["children"].size(), 2u);
  auto missing = (*view)->Candidate(99);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_null());
}

TEST_F(RunViewTest, WhatIsNotARunIsRefusedWithTheReason) {
  auto none = RunView::Open(dir_ / "absent");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("not a directory"), std::string::npos);
  fs::create_directories(dir_);
  auto empty = RunView::Open(dir_);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no run.sqlite"), std::string::npos);
  {
    auto store = RunStore::Open(dir_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->SetMeta("schema_version", "99").ok());
  }
  auto future = RunView::Open(dir_);
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.status().message().find("schema version 99"), std::string::npos);
}

TEST(LineDiff, MarksChangedLinesAndKeepsTheRest) {
  auto d = LineDiff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
  std::string ops;
  for (const auto& l : d) ops += l.op;
  EXPECT_EQ(ops, " -+  +");
  EXPECT_EQ(d[1].text, "b");
  EXPECT_EQ(d[2].text, "B");
  EXPECT_EQ(DiffStat(d), std::make_pair(2, 1));
  EXPECT_TRUE(LineDiff("", "").empty());
  // Past the size limit: a plain replacement of the changed middle.
  auto big = LineDiff("x\n1\n2\ny\n", "x\n3\ny\n", 1);
  ops.clear();
  for (const auto& l : big) ops += l.op;
  EXPECT_EQ(ops, " --+ ");
}

}  // namespace
}  // namespace kf::web
