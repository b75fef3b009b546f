// Arithmetic over named symbols, as written in task files: shape entries ("rows*cols", "n+2") and
// roofline cost ("5 * rows * cols").
//
// Grammar: + - * / with the usual precedence and left associativity, unary minus (and plus),
// parentheses, numeric literals and identifiers [A-Za-z_][A-Za-z0-9_]* looked up in `vars`.
// Whitespace is ignored. Nothing throws; every failure is a Status whose message names the
// problem, its 1-based column and the expression, e.g.
//   unknown symbol 'colz' (known: cols, rows)
//   unexpected ')' at column 12 in 'rows*(cols))'
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kf::task {

// Floating-point evaluation. Literals may be written 2, 2.5, .5, 1e-3 or 2.5E+4. Division by
// zero and results that are not finite (overflow) are errors: a cost that is inf is never meant.
Result<double> EvalExpr(std::string_view expr, const std::map<std::string, double>& vars);

// Integer evaluation, as for shapes. Literals must be decimal integers (2.5 and 1e3 are errors).
// `/` divides and truncates toward zero, as in C. Division by zero and any int64 overflow
// (including a literal that does not fit) are errors.
Result<int64_t> EvalIntExpr(std::string_view expr, const std::map<std::string, int64_t>& vars);

// The identifiers `expr` uses, each once, in order of first appearance; for checking that an
// expression only names declared params. Never fails: text that is not an identifier is skipped
// (digits and exponents of numeric literals included, so "1e3" names no symbol).
std::vector<std::string> ExprSymbols(std::string_view expr);

}  // namespace kf::task
