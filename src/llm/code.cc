#include "llm/code.h"

#include <algorithm>

namespace kf::llm {

std::variant<std::string, Error> ExtractCode(const std::string& reply,
                                             const std::vector<std::string>& languages) {
  auto b = ExtractCodeBlock(reply, languages);
  if (auto* e = std::get_if<Error>(&b)) return *e;
  return std::get<CodeBlock>(b).code;
}

std::variant<CodeBlock, Error> ExtractCodeBlock(const std::string& reply,
                                                const std::vector<std::string>& languages) {
  using Block = CodeBlock;
  std::vector<Block> blocks;
  bool unterminated = false;
  size_t pos = 0;
  while (true) {
    // A fence opens at the start of a line (after optional spaces).
    size_t open = reply.find("```", pos);
    if (open == std::string::npos) break;
    size_t line_start = reply.rfind('\n', open);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    if (reply.find_first_not_of(" \t", line_start) != open) {
      pos = open + 3;
      continue;
    }
    size_t eol = reply.find('\n', open);
    if (eol == std::string::npos) {
      unterminated = true;
      break;
    }
    std::string lang = reply.substr(open + 3, eol - open - 3);
    lang.erase(0, lang.find_first_not_of(" \t"));
    lang.erase(lang.find_last_not_of(" \t\r") + 1);
    // The closing fence: ``` alone on a line.
    size_t search = eol + 1, close = std::string::npos;
    while (search <= reply.size()) {
      size_t f = reply.find("```", search);
      if (f == std::string::npos) break;
      size_t ls = reply.rfind('\n', f);
      ls = ls == std::string::npos ? 0 : ls + 1;
      if (reply.find_first_not_of(" \t", ls) == f) {
        close = f;
        break;
      }
      search = f + 3;
    }
    if (close == std::string::npos) {
      unterminated = true;
      break;
    }
    size_t end = close;
    if (end > eol + 1 && reply[end - 1] == '\n') --end;
    blocks.push_back({lang, reply.substr(eol + 1, end > eol + 1 ? end - eol - 1 : 0)});
    size_t after = reply.find('\n', close);
    pos = after == std::string::npos ? reply.size() : after + 1;
  }
  auto tagged = [&](const Block& b) {
    return std::any_of(languages.begin(), languages.end(),
                       [&](const std::string& l) { return b.lang == l; });
  };
  const bool any_tagged = std::any_of(blocks.begin(), blocks.end(), tagged);
  const Block* best = nullptr;
  for (const auto& b : blocks) {
    if (any_tagged && !tagged(b)) continue;
    if (b.code.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    if (!best || b.code.size() > best->code.size()) best = &b;
  }
  if (best) return *best;
  std::string why = "the reply has no code block";
  if (unterminated) {
    why = "the reply's code block never closes (cut off at the token limit?)";
  } else if (!blocks.empty()) {
    why = "the reply's code blocks are empty";
  }
  why += " (" + std::to_string(reply.size()) + " characters)";
  return Error{Error::Kind::kNoCode, why, 0, -1};
}

}  // namespace kf::llm
