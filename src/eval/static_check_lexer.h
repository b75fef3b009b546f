// The lexer of the static checks (static_check.h): just good enough to find the identifiers,
// header names and string literals of C, C++ and CUDA source the way the compiler sees them,
// after trigraphs (C) and line splices, skipping comments and numbers, with raw strings (C++) and
// escapes decoded. Every token keeps its offset in the original source.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kf::eval::static_check {

inline bool IsIdentStart(char c) {
  // '$' is accepted by GCC in identifiers; bytes >= 0x80 are extended characters. Both only
  // make an identifier longer, so treating them as identifier characters avoids false matches.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

enum class Kind { kIdent, kPunct, kString, kHeader };

struct Token {
  Kind kind;
  std::string text;  // identifier, punctuator, decoded string contents, or header name
  size_t offset;     // in the original source
};

// The tokens of `source`, lexed as C17 (trigraphs) or, with `cpp`, as C++20 (raw strings, digit
// separators).
std::vector<Token> Lex(std::string_view source, bool cpp);

}  // namespace kf::eval::static_check
