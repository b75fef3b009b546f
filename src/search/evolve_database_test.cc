#include "search/evolve_database.h"

#include <gtest/gtest.h>

#include <string>

namespace kf::search {
namespace {

// A correct candidate with `code_size` bytes of code, roofline fraction `fraction` and `speedup`.
Candidate Program(int64_t id, size_t code_size, double fraction, double speedup) {
  Candidate c;
  c.id = id;
  c.verdict = "ok";
  c.code = std::string(code_size, 'x');
  c.speedup = speedup;
  c.result = {{"roofline", {{"fraction", fraction}}}};
  return c;
}

EvolveConfig TwoAxes() {
  EvolveConfig config;
  config.islands = 2;
  config.features = {{"code_size", 0, 1000, 4}, {"roofline.fraction", 0, 1, 2}};
  return config;
}

TEST(EvolveDatabaseTest, ACandidateIsPlacedInTheCellOfItsFeatures) {
  EvolveDatabase db(TwoAxes(), 1);
  EXPECT_EQ(db.Cell(Program(1, 0, 0.0, 1)), (std::vector<int>{0, 0}));
  EXPECT_EQ(db.Cell(Program(2, 260, 0.7, 1)), (std::vector<int>{1, 1}));
  EXPECT_EQ(db.Cell(Program(3, 999, 0.49, 1)), (std::vector<int>{3, 0}));
  // Values beyond an axis's range go to its first or last bin.
  EXPECT_EQ(db.Cell(Program(4, 5000, 1.5, 1)), (std::vector<int>{3, 1}));
  Candidate absent = Program(5, 10, 0, 1);
  absent.result = nlohmann::json::object();  // no roofline: the metric reads 0
  EXPECT_EQ(db.Cell(absent), (std::vector<int>{0, 0}));
}

TEST(EvolveDatabaseTest, EachCellKeepsItsFastestCorrectProgramPerIsland) {
  EvolveDatabase db(TwoAxes(), 1);
  db.Add(0, Program(1, 100, 0.2, 1.0));
  db.Add(0, Program(2, 120, 0.3, 1.5));  // same cell, faster: the elite
  db.Add(0, Program(3, 110, 0.1, 1.2));  // same cell, slower: archived only
  db.Add(0, Program(4, 600, 0.9, 0.8));  // a cell of its own, however slow
  Candidate wrong = Program(5, 900, 0.9, 9.0);
  wrong.verdict = "wrong_answer";
  db.Add(0, wrong);  // never placed
  db.Add(1, Program(6, 100, 0.2, 3.0));

  const auto& grid = db.elites(0);
  ASSERT_EQ(grid.size(), 2u);
  EXPECT_EQ(grid.at({0, 0}).id, 2);
  EXPECT_EQ(grid.at({2, 1}).id, 4);
  EXPECT_EQ(db.elites(1).size(), 1u);
  EXPECT_EQ(db.elites(1).at({0, 0}).id, 6);  // islands keep their grids apart
}

TEST(EvolveDatabaseTest, MetricsAreReadByDottedPathsIntoTheResult) {
  Candidate c = Program(1, 42, 0.25, 2.0);
  c.result["detail"] = {{"resources", {{{"registers", 64}}}}};
  EXPECT_DOUBLE_EQ(EvolveMetric(c, "code_size"), 42);
  EXPECT_DOUBLE_EQ(EvolveMetric(c, "speedup"), 2.0);
  EXPECT_DOUBLE_EQ(EvolveMetric(c, "roofline.fraction"), 0.25);
  EXPECT_DOUBLE_EQ(EvolveMetric(c, "detail.resources.0.registers"), 64);
  EXPECT_DOUBLE_EQ(EvolveMetric(c, "detail.resources.1.registers"), 0);
  EXPECT_DOUBLE_EQ(EvolveMetric(c, "no.such.path"), 0);
}

TEST(EvolveDatabaseTest, TheConfigIsCheckedKeyByKey) {
  auto c = ReadEvolveConfig({{"islands", 4},
                             {"edits", "rewrite"},
                             {"features", {{{"metric", "speedup"}, {"max", 4}, {"bins", 8}}}}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->islands, 4);
  EXPECT_FALSE(c->diff);
  ASSERT_EQ(c->features.size(), 1u);
  EXPECT_EQ(c->features[0].bins, 8);
  EXPECT_FALSE(ReadEvolveConfig({{"island", 4}}).ok());
  EXPECT_FALSE(ReadEvolveConfig({{"exploration_ratio", 0.6}, {"exploitation_ratio", 0.6}}).ok());
  EXPECT_FALSE(ReadEvolveConfig({{"features", {{{"metric", "x"}, {"min", 1}, {"max", 1}}}}}).ok());
}

}  // namespace
}  // namespace kf::search
