#include "search/edits.h"

#include <gtest/gtest.h>

namespace kf::search {
namespace {

const char* kProgram =
    "#include <stdint.h>\n"
    "// EVOLVE-BLOCK-START\n"
    "static int step(void) { return 1; }\n"
    "// EVOLVE-BLOCK-END\n"
    "void f(float* y, int64_t n) { for (int64_t i = 0; i < n; i += step()) y[i] = 0; }\n";

TEST(EditsTest, SearchReplaceBlocksAreParsedInOrder) {
  auto e = ParseSearchReplace(
      "Try this:\n<<<<<<< SEARCH\nreturn 1;\n=======\nreturn 2;\n>>>>>>> REPLACE\nand\n"
      "<<<<<<< SEARCH\na\nb\n=======\n>>>>>>> REPLACE\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].search, "return 1;\n");
  EXPECT_EQ(e[0].replace, "return 2;\n");
  EXPECT_EQ(e[1].search, "a\nb\n");
  EXPECT_EQ(e[1].replace, "");
}

TEST(EditsTest, AnEditInsideTheBlockApplies) {
  auto r = ApplyEdits(kProgram, {{"return 1;", "return 2;"}});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_NE(r.program.find("return 2;"), std::string::npos);
  EXPECT_EQ(r.program.find("return 1;"), std::string::npos);
}

TEST(EditsTest, AnEditOutsideTheBlockIsRejected) {
  auto r = ApplyEdits(kProgram, {{"y[i] = 0", "y[i] = 1"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.verdict, "edit_outside_evolve_block");
}

TEST(EditsTest, ASearchThatDoesNotMatchIsABadEdit) {
  auto r = ApplyEdits(kProgram, {{"return  1;", "return 2;"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.verdict, "bad_edit");
  EXPECT_NE(r.message.find("does not appear"), std::string::npos);
  EXPECT_EQ(ApplyEdits(kProgram, {}).verdict, "bad_edit");
}

TEST(EditsTest, WithoutMarkersTheWholeProgramIsEditable) {
  auto r = ApplyEdits("int a = 1;\nint b = 2;\n", {{"int b = 2;", "int b = 3;"}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.program, "int a = 1;\nint b = 3;\n");
}

}  // namespace
}  // namespace kf::search
