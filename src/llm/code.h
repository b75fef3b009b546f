// Finding the program in a model's reply: fenced code blocks (```lang ... ```).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "llm/types.h"

namespace kf::llm {

// The code of the reply's best block: among blocks tagged with one of `languages` (any block
// when none is tagged so, or `languages` is empty), the longest. A reply without a complete
// block is an Error of kind kNoCode saying what was found instead.
std::variant<std::string, Error> ExtractCode(const std::string& reply,
                                             const std::vector<std::string>& languages = {});

struct CodeBlock {
  std::string lang;  // the fence's tag, "" when untagged
  std::string code;
};
// As ExtractCode, with the chosen block's language tag.
std::variant<CodeBlock, Error> ExtractCodeBlock(const std::string& reply,
                                                const std::vector<std::string>& languages = {});

}  // namespace kf::llm
