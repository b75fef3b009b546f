// A line diff (longest common subsequence) of two texts, for a candidate against its parent.
#pragma once

#include <string>
#include <vector>

namespace kf::web {

struct DiffLine {
  char op;  // ' ' both, '-' only in the old text, '+' only in the new one
  std::string text;
};

// Texts of more than max_lines lines each give one '-' line per old line and one '+' per new
// line past their common prefix and suffix (the quadratic table would be too large).
std::vector<DiffLine> LineDiff(const std::string& old_text, const std::string& new_text,
                               size_t max_lines = 4000);

// Counts of added and removed lines.
std::pair<int, int> DiffStat(const std::vector<DiffLine>& diff);

}  // namespace kf::web
