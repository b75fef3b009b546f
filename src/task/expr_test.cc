#include "task/expr.h"

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace kf::task {
namespace {

using Names = std::vector<std::string>;

// gmock is not linked into the unit-test binary, so substring checks are spelled out.
::testing::AssertionResult HasSubstr(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

const std::map<std::string, double> kDoubleVars = {{"rows", 2048}, {"cols", 1000}};
const std::map<std::string, int64_t> kIntVars = {{"rows", 7}, {"cols", 33}, {"n", 10}};

std::string ErrorOf(std::string_view expr) {
  Result<int64_t> r = EvalIntExpr(expr, kIntVars);
  EXPECT_FALSE(r.ok()) << expr << " evaluated to " << (r.ok() ? *r : 0);
  return r.status().message();
}

TEST(EvalExprTest, CostExpressions) {
  EXPECT_DOUBLE_EQ(*EvalExpr("5 * rows * cols", kDoubleVars), 5.0 * 2048 * 1000);
  EXPECT_DOUBLE_EQ(*EvalExpr("4 * 2 * rows * cols", kDoubleVars), 8.0 * 2048 * 1000);
  EXPECT_DOUBLE_EQ(*EvalExpr("rows / 4", kDoubleVars), 512.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("cols / 3", kDoubleVars), 1000.0 / 3);
}

TEST(EvalExprTest, PrecedenceAssociativityAndUnary) {
  const std::map<std::string, double> none;
  EXPECT_DOUBLE_EQ(*EvalExpr("1 + 2 * 3", none), 7.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("(1 + 2) * 3", none), 9.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("8 - 4 - 2", none), 2.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("8 / 4 / 2", none), 1.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("-3 * -2", none), 6.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("--3", none), 3.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("+3 - -(2)", none), 5.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("2 * -(1 + 1)", none), -4.0);
}

TEST(EvalExprTest, Literals) {
  const std::map<std::string, double> none;
  EXPECT_DOUBLE_EQ(*EvalExpr("2.5", none), 2.5);
  EXPECT_DOUBLE_EQ(*EvalExpr("1e-3", none), 1e-3);
  EXPECT_DOUBLE_EQ(*EvalExpr("2.5E+4", none), 2.5e4);
  EXPECT_DOUBLE_EQ(*EvalExpr(".5", none), 0.5);
  EXPECT_DOUBLE_EQ(*EvalExpr("3.", none), 3.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("1e3*2", none), 2000.0);
  EXPECT_DOUBLE_EQ(*EvalExpr("2e-1-1", none), 0.2 - 1);
}

TEST(EvalExprTest, FloatErrors) {
  const std::map<std::string, double> none;
  EXPECT_TRUE(HasSubstr(EvalExpr("1 / 0", none).status().message(),
                        "division by zero at column 3 in '1 / 0'"));
  EXPECT_TRUE(HasSubstr(EvalExpr("1e308 * 10", none).status().message(), "not finite"));
  EXPECT_TRUE(HasSubstr(EvalExpr("1e999", none).status().message(), "out of range"));
  EXPECT_TRUE(HasSubstr(EvalExpr("1e", none).status().message(), "malformed number '1e'"));
  EXPECT_TRUE(HasSubstr(EvalExpr("1.5.2", none).status().message(), "malformed number '1.5.2'"));
  EXPECT_TRUE(HasSubstr(EvalExpr("0x10", none).status().message(), "malformed number '0x10'"));
  EXPECT_TRUE(HasSubstr(EvalExpr("2rows", kDoubleVars).status().message(),
                        "malformed number '2rows' at column 1"));
}

TEST(EvalIntExprTest, ShapeExpressions) {
  EXPECT_EQ(*EvalIntExpr("rows*cols", kIntVars), 7 * 33);
  EXPECT_EQ(*EvalIntExpr("n+2", kIntVars), 12);
  EXPECT_EQ(*EvalIntExpr("rows", kIntVars), 7);
  EXPECT_EQ(*EvalIntExpr("64", kIntVars), 64);
  EXPECT_EQ(*EvalIntExpr(" ( cols + 1 ) / 2 ", kIntVars), 17);
  EXPECT_EQ(*EvalIntExpr("cols / rows * rows", kIntVars), 28);  // integer division
  EXPECT_EQ(*EvalIntExpr("-7 / 2", kIntVars), -3);              // truncates toward zero
  EXPECT_EQ(*EvalIntExpr("9223372036854775807", kIntVars), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*EvalIntExpr("-9223372036854775807 - 1", kIntVars),
            std::numeric_limits<int64_t>::min());
}

TEST(EvalIntExprTest, DivisionByZero) {
  EXPECT_EQ(ErrorOf("rows/(cols-cols)"), "division by zero at column 5 in 'rows/(cols-cols)'");
}

TEST(EvalIntExprTest, Overflow) {
  EXPECT_TRUE(HasSubstr(ErrorOf("9223372036854775807 + 1"), "integer overflow in '+' at column"));
  EXPECT_TRUE(HasSubstr(ErrorOf("-9223372036854775807 - 2"), "integer overflow in '-'"));
  EXPECT_TRUE(HasSubstr(ErrorOf("4294967296 * 4294967296"), "integer overflow in '*'"));
  EXPECT_TRUE(HasSubstr(ErrorOf("(-9223372036854775807 - 1) / -1"), "integer overflow in '/'"));
  EXPECT_TRUE(HasSubstr(ErrorOf("-(-9223372036854775807 - 1)"), "integer overflow in unary '-'"));
  EXPECT_TRUE(HasSubstr(ErrorOf("9223372036854775808"),
                        "integer '9223372036854775808' does not fit in int64"));
}

TEST(EvalIntExprTest, NonIntegerLiterals) {
  EXPECT_TRUE(HasSubstr(ErrorOf("2.5 * n"), "'2.5' is not an integer"));
  EXPECT_TRUE(HasSubstr(ErrorOf("1e3"), "'1e3' is not an integer"));
}

TEST(EvalIntExprTest, UnknownSymbolListsKnownOnes) {
  EXPECT_EQ(ErrorOf("rows*colz"), "unknown symbol 'colz' (known: cols, n, rows) in 'rows*colz'");
  EXPECT_EQ(EvalIntExpr("k", {}).status().message(), "unknown symbol 'k' (known: none) in 'k'");
}

TEST(EvalIntExprTest, SyntaxErrorsNameTheColumn) {
  EXPECT_EQ(ErrorOf("rows*(cols))"), "unexpected ')' at column 12 in 'rows*(cols))'");
  EXPECT_EQ(ErrorOf("rows*(cols"), "missing ')' for the '(' at column 6 in 'rows*(cols'");
  EXPECT_EQ(ErrorOf("rows*"), "unexpected end of expression in 'rows*'");
  EXPECT_EQ(ErrorOf("rows cols"), "unexpected 'cols' at column 6 in 'rows cols'");
  EXPECT_EQ(ErrorOf("rows % 2"), "unexpected character '%' at column 6 in 'rows % 2'");
  EXPECT_EQ(ErrorOf("()"), "unexpected ')' at column 2 in '()'");
  EXPECT_EQ(ErrorOf("*2"), "unexpected '*' at column 1 in '*2'");
  EXPECT_EQ(ErrorOf(""), "empty expression");
  EXPECT_EQ(ErrorOf("   "), "empty expression");
}

TEST(EvalIntExprTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = std::string(100000, '(') + "1" + std::string(100000, ')');
  EXPECT_TRUE(HasSubstr(ErrorOf(deep), "nested too deeply"));
  std::string minuses = std::string(100000, '-') + "1";
  EXPECT_TRUE(HasSubstr(ErrorOf(minuses), "nested too deeply"));
  std::string ok = std::string(50, '(') + "n" + std::string(50, ')');
  EXPECT_EQ(*EvalIntExpr(ok, kIntVars), 10);
}

TEST(ExprSymbolsTest, ListsEachIdentifierOnceInOrder) {
  EXPECT_EQ(ExprSymbols("4 * 2 * rows * cols + rows"), Names({"rows", "cols"}));
  EXPECT_EQ(ExprSymbols("n+2"), Names({"n"}));
  EXPECT_EQ(ExprSymbols("1e-3 * _k2 / 2.5E+4"), Names({"_k2"}));
  EXPECT_TRUE(ExprSymbols("64").empty());
  EXPECT_EQ(ExprSymbols("a $ b"), Names({"a", "b"}));  // tolerates what Eval rejects
  EXPECT_TRUE(ExprSymbols("").empty());
}

}  // namespace
}  // namespace kf::task
