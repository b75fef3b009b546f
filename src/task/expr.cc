#include "task/expr.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

namespace kf::task {
namespace {

// Deep enough for any real shape or cost; shallow enough that a hostile "((((...))))" cannot
// exhaust the stack.
constexpr int kMaxDepth = 200;

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

// A numeric literal is scanned greedily, like a C pp-number (digits, letters, dots, and a sign
// right after an exponent letter), then validated as a whole, so "2rows" and "1.5.2" are reported
// as one malformed number rather than as two confusing tokens.
size_t ScanNumberEnd(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    char c = s[pos];
    if ((c == '+' || c == '-') && (s[pos - 1] == 'e' || s[pos - 1] == 'E')) {
      ++pos;
    } else if (IsIdentChar(c) || c == '.') {
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

size_t ScanIdentEnd(std::string_view s, size_t pos) {
  while (pos < s.size() && IsIdentChar(s[pos])) ++pos;
  return pos;
}

bool StartsNumber(std::string_view s, size_t pos) {
  return IsDigit(s[pos]) || (s[pos] == '.' && pos + 1 < s.size() && IsDigit(s[pos + 1]));
}

enum class TokenKind { kNumber, kIdent, kOp, kEnd };

struct Token {
  TokenKind kind;
  std::string_view text;
  size_t pos;  // 0-based offset into the expression
};

std::string Where(size_t pos, std::string_view expr) {
  return "at column " + std::to_string(pos + 1) + " in '" + std::string(expr) + "'";
}

Result<std::vector<Token>> Lex(std::string_view expr) {
  std::vector<Token> tokens;
  size_t pos = 0;
  while (pos < expr.size()) {
    char c = expr[pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++pos;
    } else if (StartsNumber(expr, pos)) {
      size_t end = ScanNumberEnd(expr, pos);
      tokens.push_back({TokenKind::kNumber, expr.substr(pos, end - pos), pos});
      pos = end;
    } else if (IsIdentStart(c)) {
      size_t end = ScanIdentEnd(expr, pos);
      tokens.push_back({TokenKind::kIdent, expr.substr(pos, end - pos), pos});
      pos = end;
    } else if (c == '+' || c == '-' || c == '*' || c == '/' || c == '(' || c == ')') {
      tokens.push_back({TokenKind::kOp, expr.substr(pos, 1), pos});
      ++pos;
    } else {
      return Status::Error("unexpected character '" + std::string(1, c) + "' " + Where(pos, expr));
    }
  }
  tokens.push_back({TokenKind::kEnd, {}, expr.size()});
  return tokens;
}

// The arithmetic of one value type: literal parsing and checked operations. Each returns an
// error message, or nullopt and the result in `out`.
template <typename T>
struct Arith;

template <>
struct Arith<double> {
  static std::optional<std::string> Literal(std::string_view text, double* out) {
    // A mantissa with at least one digit, then an optional exponent with digits; from_chars would
    // also accept forms we do not want in task files (hex floats, "inf").
    size_t i = 0, digits = 0;
    while (i < text.size() && IsDigit(text[i])) ++i, ++digits;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && IsDigit(text[i])) ++i, ++digits;
    }
    bool valid = digits > 0;
    if (valid && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
      ++i;
      if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
      size_t exp_digits = 0;
      while (i < text.size() && IsDigit(text[i])) ++i, ++exp_digits;
      valid = exp_digits > 0;
    }
    if (!valid || i != text.size()) return "malformed number '" + std::string(text) + "'";
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(*out)) {
      return "number '" + std::string(text) + "' is out of range";
    }
    return std::nullopt;
  }
  static std::optional<std::string> Add(double a, double b, double* out) {
    return Finite(a + b, out);
  }
  static std::optional<std::string> Sub(double a, double b, double* out) {
    return Finite(a - b, out);
  }
  static std::optional<std::string> Mul(double a, double b, double* out) {
    return Finite(a * b, out);
  }
  static std::optional<std::string> Div(double a, double b, double* out) {
    if (b == 0.0) return "division by zero";
    return Finite(a / b, out);
  }
  static std::optional<std::string> Neg(double a, double* out) { return Finite(-a, out); }

 private:
  static std::optional<std::string> Finite(double v, double* out) {
    if (!std::isfinite(v)) return "result is not finite";
    *out = v;
    return std::nullopt;
  }
};

template <>
struct Arith<int64_t> {
  static std::optional<std::string> Literal(std::string_view text, int64_t* out) {
    for (char c : text) {
      if (!IsDigit(c)) {
        return "'" + std::string(text) + "' is not an integer (shape expressions are integer-only)";
      }
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return "integer '" + std::string(text) + "' does not fit in int64";
    }
    return std::nullopt;
  }
  static std::optional<std::string> Add(int64_t a, int64_t b, int64_t* out) {
    if (__builtin_add_overflow(a, b, out)) return "integer overflow in '+'";
    return std::nullopt;
  }
  static std::optional<std::string> Sub(int64_t a, int64_t b, int64_t* out) {
    if (__builtin_sub_overflow(a, b, out)) return "integer overflow in '-'";
    return std::nullopt;
  }
  static std::optional<std::string> Mul(int64_t a, int64_t b, int64_t* out) {
    if (__builtin_mul_overflow(a, b, out)) return "integer overflow in '*'";
    return std::nullopt;
  }
  static std::optional<std::string> Div(int64_t a, int64_t b, int64_t* out) {
    if (b == 0) return "division by zero";
    if (a == std::numeric_limits<int64_t>::min() && b == -1) return "integer overflow in '/'";
    *out = a / b;
    return std::nullopt;
  }
  static std::optional<std::string> Neg(int64_t a, int64_t* out) {
    if (__builtin_sub_overflow(int64_t{0}, a, out)) return "integer overflow in unary '-'";
    return std::nullopt;
  }
};

template <typename T>
class Parser {
 public:
  Parser(std::string_view expr, std::vector<Token> tokens, const std::map<std::string, T>& vars)
      : expr_(expr), tokens_(std::move(tokens)), vars_(vars) {}

  Result<T> Parse() {
    if (Peek().kind == TokenKind::kEnd) return Status::Error("empty expression");
    Result<T> value = ParseSum(0);
    if (!value.ok()) return value;
    if (Peek().kind != TokenKind::kEnd) return Unexpected(Peek());
    return value;
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  bool PeekOp(char op) const { return Peek().kind == TokenKind::kOp && Peek().text[0] == op; }

  Status Unexpected(const Token& token) const {
    if (token.kind == TokenKind::kEnd) {
      return Status::Error("unexpected end of expression in '" + std::string(expr_) + "'");
    }
    return Status::Error("unexpected '" + std::string(token.text) + "' " + Where(token.pos, expr_));
  }

  Status ErrorAt(const std::string& message, const Token& token) const {
    return Status::Error(message + " " + Where(token.pos, expr_));
  }

  Result<T> Apply(const Token& op, T a, T b) const {
    T out{};
    std::optional<std::string> error;
    switch (op.text[0]) {
      case '+':
        error = Arith<T>::Add(a, b, &out);
        break;
      case '-':
        error = Arith<T>::Sub(a, b, &out);
        break;
      case '*':
        error = Arith<T>::Mul(a, b, &out);
        break;
      default:
        error = Arith<T>::Div(a, b, &out);
        break;
    }
    if (error) return ErrorAt(*error, op);
    return out;
  }

  // sum := product (('+' | '-') product)*
  Result<T> ParseSum(int depth) {
    Result<T> lhs = ParseProduct(depth);
    while (lhs.ok() && (PeekOp('+') || PeekOp('-'))) {
      Token op = tokens_[next_++];
      Result<T> rhs = ParseProduct(depth);
      if (!rhs.ok()) return rhs;
      lhs = Apply(op, *lhs, *rhs);
    }
    return lhs;
  }

  // product := unary (('*' | '/') unary)*
  Result<T> ParseProduct(int depth) {
    Result<T> lhs = ParseUnary(depth);
    while (lhs.ok() && (PeekOp('*') || PeekOp('/'))) {
      Token op = tokens_[next_++];
      Result<T> rhs = ParseUnary(depth);
      if (!rhs.ok()) return rhs;
      lhs = Apply(op, *lhs, *rhs);
    }
    return lhs;
  }

  // unary := ('-' | '+') unary | primary
  Result<T> ParseUnary(int depth) {
    if (depth > kMaxDepth) return ErrorAt("expression nested too deeply", Peek());
    if (PeekOp('-') || PeekOp('+')) {
      Token op = tokens_[next_++];
      Result<T> operand = ParseUnary(depth + 1);
      if (!operand.ok() || op.text[0] == '+') return operand;
      T out{};
      if (auto error = Arith<T>::Neg(*operand, &out)) return ErrorAt(*error, op);
      return out;
    }
    return ParsePrimary(depth);
  }

  // primary := number | identifier | '(' sum ')'
  Result<T> ParsePrimary(int depth) {
    const Token& token = Peek();
    switch (token.kind) {
      case TokenKind::kNumber: {
        ++next_;
        T value{};
        if (auto error = Arith<T>::Literal(token.text, &value)) return ErrorAt(*error, token);
        return value;
      }
      case TokenKind::kIdent: {
        ++next_;
        auto it = vars_.find(std::string(token.text));
        if (it == vars_.end()) return UnknownSymbol(token);
        return it->second;
      }
      case TokenKind::kOp:
        if (token.text[0] == '(') {
          const Token& open = tokens_[next_++];
          Result<T> inner = ParseSum(depth + 1);
          if (!inner.ok()) return inner;
          if (PeekOp(')')) {
            ++next_;
            return inner;
          }
          if (Peek().kind == TokenKind::kEnd) return ErrorAt("missing ')' for the '('", open);
          return Unexpected(Peek());
        }
        return Unexpected(token);
      case TokenKind::kEnd:
        break;
    }
    return Unexpected(token);
  }

  Status UnknownSymbol(const Token& token) const {
    std::string known;
    for (const auto& [name, value] : vars_) known += (known.empty() ? "" : ", ") + name;
    if (known.empty()) known = "none";
    return Status::Error("unknown symbol '" + std::string(token.text) + "' (known: " + known +
                         ") in '" + std::string(expr_) + "'");
  }

  std::string_view expr_;
  std::vector<Token> tokens_;
  const std::map<std::string, T>& vars_;
  size_t next_ = 0;
};

template <typename T>
Result<T> Evaluate(std::string_view expr, const std::map<std::string, T>& vars) {
  Result<std::vector<Token>> tokens = Lex(expr);
  if (!tokens.ok()) return tokens.status();
  return Parser<T>(expr, std::move(*tokens), vars).Parse();
}

}  // namespace

Result<double> EvalExpr(std::string_view expr, const std::map<std::string, double>& vars) {
  return Evaluate(expr, vars);
}

Result<int64_t> EvalIntExpr(std::string_view expr, const std::map<std::string, int64_t>& vars) {
  return Evaluate(expr, vars);
}

std::vector<std::string> ExprSymbols(std::string_view expr) {
  std::vector<std::string> symbols;
  std::set<std::string, std::less<>> seen;
  size_t pos = 0;
  while (pos < expr.size()) {
    if (StartsNumber(expr, pos)) {
      pos = ScanNumberEnd(expr, pos);
    } else if (IsIdentStart(expr[pos])) {
      size_t end = ScanIdentEnd(expr, pos);
      std::string_view name = expr.substr(pos, end - pos);
      if (seen.insert(std::string(name)).second) symbols.emplace_back(name);
      pos = end;
    } else {
      ++pos;
    }
  }
  return symbols;
}

}  // namespace kf::task
