#include "search/tune.h"

#include <gtest/gtest.h>

#include <set>

namespace kf::search {
namespace {

TEST(TuneTest, DeclarationsAreParsedAndCheckedLineByLine) {
  auto p = ParseTuneParams("// kforge-tune: BLOCK = 16, 32 ,64\nint x;\n  //kforge-tune:U=1,2\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].name, "BLOCK");
  EXPECT_EQ((*p)[0].values, (std::vector<std::string>{"16", "32", "64"}));
  EXPECT_EQ((*p)[1].name, "U");

  auto bad = ParseTuneParams("int a;\n// kforge-tune: 9LIVES = 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseTuneParams("// kforge-tune: A = 1\n// kforge-tune: A = 2\n").ok());
  EXPECT_FALSE(ParseTuneParams("// kforge-tune: A = 1,,2\n").ok());
}

TEST(TuneTest, SmallSpacesAreWalkedInOrderLargeOnesSampledWithoutRepeats) {
  std::vector<TuneParam> params = {{"A", {"1", "2"}}, {"B", {"x", "y", "z"}}};
  auto all = TunePlan(params, 10, 1);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0], (std::vector<size_t>{0, 0}));
  EXPECT_EQ(all[5], (std::vector<size_t>{1, 2}));

  auto some = TunePlan(params, 4, 7);
  ASSERT_EQ(some.size(), 4u);
  EXPECT_EQ(std::set<std::vector<size_t>>(some.begin(), some.end()).size(), 4u);
  EXPECT_EQ(some, TunePlan(params, 4, 7));  // the seed decides
}

TEST(TuneTest, AVariantDefinesTheValuesFirst) {
  std::vector<TuneParam> params = {{"A", {"1", "2"}}, {"B", {"x", "y"}}};
  const std::string v = TuneVariant("int main;\n", params, {1, 0});
  EXPECT_NE(v.find("#define A 2\n#define B x\n"), std::string::npos);
  EXPECT_EQ(v.substr(v.size() - 10), "int main;\n");
}

}  // namespace
}  // namespace kf::search
