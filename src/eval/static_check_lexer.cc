#include "eval/static_check_lexer.h"

#include <algorithm>
#include <utility>

namespace kf::eval::static_check {
namespace {

// Source text after translation phases 1-2 (trigraphs for C, line splices), with the offset in
// the original source of every character so that lines can be reported as the author sees them.
struct Spliced {
  std::string chars;
  std::vector<size_t> origin;  // origin[i] = source offset of chars[i]; strictly increasing
};

Spliced Splice(std::string_view source, bool trigraphs) {
  Spliced phase1;
  phase1.chars.reserve(source.size());
  phase1.origin.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (trigraphs && c == '?' && i + 2 < source.size() && source[i + 1] == '?') {
      static constexpr std::string_view kFrom = "=/'()!<>-", kTo = "#\\^[]|{}~";
      size_t k = kFrom.find(source[i + 2]);
      if (k != std::string_view::npos) {
        phase1.chars.push_back(kTo[k]);
        phase1.origin.push_back(i);
        i += 2;
        continue;
      }
    }
    phase1.chars.push_back(c);
    phase1.origin.push_back(i);
  }
  Spliced out;
  out.chars.reserve(phase1.chars.size());
  out.origin.reserve(phase1.chars.size());
  const std::string& s = phase1.chars;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      // GCC also splices when only whitespace separates the backslash from the newline.
      size_t j = i + 1;
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j < s.size() && s[j] == '\n') {
        i = j;
        continue;
      }
    }
    out.chars.push_back(s[i]);
    out.origin.push_back(phase1.origin[i]);
  }
  return out;
}

// A lexer just good enough to find identifiers: it skips comments, numbers and literals the way
// the compiler does, so that what it reports as identifiers are the compiler's identifiers.
class Lexer {
 public:
  Lexer(std::string_view source, bool cpp)
      : source_(source), cpp_(cpp), text_(Splice(source, !cpp)) {}

  std::vector<Token> Run() {
    const std::string& s = text_.chars;
    while (i_ < s.size()) {
      char c = s[i_];
      char next = i_ + 1 < s.size() ? s[i_ + 1] : '\0';
      if (c == '\n' || IsSpace(c)) {
        ++i_;
      } else if (c == '/' && next == '/') {
        while (i_ < s.size() && s[i_] != '\n') ++i_;
      } else if (c == '/' && next == '*') {
        size_t end = s.find("*/", i_ + 2);
        i_ = end == std::string::npos ? s.size() : end + 2;
      } else if (IsIdentStart(c)) {
        LexIdentifier();
      } else if (IsDigit(c) || (c == '.' && IsDigit(next))) {
        LexNumber();
      } else if (c == '"' || c == '\'') {
        LexQuoted(i_);
      } else if (c == ':' && next == ':') {
        Emit(Kind::kPunct, "::", i_);
        i_ += 2;
      } else if (c == '%' && next == ':') {  // digraph for '#'
        Emit(Kind::kPunct, "#", i_);
        i_ += 2;
      } else {
        Emit(Kind::kPunct, std::string(1, c), i_);
        ++i_;
      }
    }
    return std::move(tokens_);
  }

 private:
  void Emit(Kind kind, std::string text, size_t index) {
    tokens_.push_back({kind, std::move(text), text_.origin[index]});
  }

  void LexIdentifier() {
    const std::string& s = text_.chars;
    size_t start = i_;
    while (i_ < s.size() && IsIdentChar(s[i_])) ++i_;
    std::string id = s.substr(start, i_ - start);
    char next = i_ < s.size() ? s[i_] : '\0';
    if (next == '"' || next == '\'') {
      if (cpp_ && next == '"' &&
          (id == "R" || id == "LR" || id == "uR" || id == "UR" || id == "u8R")) {
        LexRawString(start);
        return;
      }
      if (id == "L" || id == "u" || id == "U" || id == "u8") {
        LexQuoted(start);
        return;
      }
    }
    bool after_hash =
        !tokens_.empty() && tokens_.back().kind == Kind::kPunct && tokens_.back().text == "#";
    Emit(Kind::kIdent, id, start);
    if (after_hash &&
        (id == "include" || id == "include_next" || id == "import" || id == "embed")) {
      LexHeaderName();
    }
  }

  // A pp-number: digits, letters, dots, exponent signs and (C++) digit separators, so that the
  // "'" in 1'000 does not open a character literal that would hide the rest of the line.
  void LexNumber() {
    const std::string& s = text_.chars;
    size_t start = i_;
    ++i_;
    while (i_ < s.size()) {
      char c = s[i_];
      char prev = s[i_ - 1];
      if (IsIdentChar(c) || c == '.') {
        ++i_;
      } else if ((c == '+' || c == '-') &&
                 (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P')) {
        ++i_;
      } else if (cpp_ && c == '\'' && i_ + 1 < s.size() && IsIdentChar(s[i_ + 1])) {
        ++i_;
      } else {
        break;
      }
    }
    Emit(Kind::kPunct, "0", start);
  }

  // A string or character literal starting at `start` (its encoding prefix, if any). Literals
  // cannot span lines, so an unterminated one ends at the newline, as the compiler's does.
  void LexQuoted(size_t start) {
    const std::string& s = text_.chars;
    char quote = s[i_++];
    std::string contents;
    while (i_ < s.size() && s[i_] != quote && s[i_] != '\n') {
      if (s[i_] == '\\' && i_ + 1 < s.size() && s[i_ + 1] != '\n') {
        contents.push_back(DecodeEscape());
      } else {
        contents.push_back(s[i_++]);
      }
    }
    if (i_ < s.size() && s[i_] == quote) ++i_;
    if (quote == '"') {
      Emit(Kind::kString, std::move(contents), start);
    } else {
      Emit(Kind::kPunct, "'", start);
    }
  }

  // Decodes the escape at i_ (a backslash) to one byte, so that "\x2fproc/" reads as "/proc/".
  char DecodeEscape() {
    const std::string& s = text_.chars;
    char e = s[i_ + 1];
    i_ += 2;
    auto hex = [](char c) -> int {
      if (IsDigit(c)) return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (e == 'x') {
      unsigned value = 0;
      while (i_ < s.size() && hex(s[i_]) >= 0) value = (value << 4 | hex(s[i_++])) & 0xff;
      return static_cast<char>(value);
    }
    if (e >= '0' && e <= '7') {
      unsigned value = e - '0';
      for (int k = 0; k < 2 && i_ < s.size() && s[i_] >= '0' && s[i_] <= '7'; ++k) {
        value = value * 8 + (s[i_++] - '0');
      }
      return static_cast<char>(value & 0xff);
    }
    if (e == 'u' || e == 'U') {
      // A universal character name never spells ASCII that matters here.
      for (int k = 0; k < (e == 'u' ? 4 : 8) && i_ < s.size() && hex(s[i_]) >= 0; ++k) ++i_;
      return '?';
    }
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      default:
        return e;  // \\ \" \' \? and unknown escapes
    }
  }

  // A C++ raw string. Line splices are not applied inside one, so its end is found in the
  // original source and the lexer resumes at the first character after it.
  void LexRawString(size_t prefix_start) {
    size_t quote = text_.origin[i_];
    size_t open = source_.find('(', quote + 1);
    std::string_view delimiter;
    if (open != std::string_view::npos && open - quote - 1 <= 16) {
      delimiter = source_.substr(quote + 1, open - quote - 1);
    }
    bool valid = open != std::string_view::npos && open - quote - 1 <= 16 &&
                 delimiter.find_first_of(" ()\\\t\v\f\n") == std::string_view::npos;
    if (!valid) {  // not a raw string the compiler would accept; lex it as an ordinary one
      LexQuoted(prefix_start);
      return;
    }
    std::string terminator = ")" + std::string(delimiter) + "\"";
    size_t close = source_.find(terminator, open + 1);
    size_t end = close == std::string_view::npos ? source_.size() : close + terminator.size();
    size_t contents_end = close == std::string_view::npos ? source_.size() : close;
    tokens_.push_back({Kind::kString,
                       std::string(source_.substr(open + 1, contents_end - open - 1)),
                       text_.origin[prefix_start]});
    i_ = std::lower_bound(text_.origin.begin(), text_.origin.end(), end) - text_.origin.begin();
  }

  // After #include and friends: a <header> or "header" name, which is not a string literal.
  void LexHeaderName() {
    const std::string& s = text_.chars;
    while (i_ < s.size()) {
      if (IsSpace(s[i_])) {
        ++i_;
      } else if (s.compare(i_, 2, "/*") == 0) {
        size_t end = s.find("*/", i_ + 2);
        i_ = end == std::string::npos ? s.size() : end + 2;
      } else {
        break;
      }
    }
    if (i_ >= s.size() || (s[i_] != '<' && s[i_] != '"')) return;  // a macro; lexed as code
    char close = s[i_] == '<' ? '>' : '"';
    size_t start = i_++;
    while (i_ < s.size() && s[i_] != close && s[i_] != '\n') ++i_;
    Emit(Kind::kHeader, s.substr(start + 1, i_ - start - 1), start);
    if (i_ < s.size() && s[i_] == close) ++i_;
  }

  std::string_view source_;
  bool cpp_;
  Spliced text_;
  size_t i_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Lex(std::string_view source, bool cpp) { return Lexer(source, cpp).Run(); }

}  // namespace kf::eval::static_check
