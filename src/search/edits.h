// Diff edits for `--strategy evolve`: SEARCH/REPLACE blocks that may only change the program's
// EVOLVE-BLOCK regions.
//
//   <<<<<<< SEARCH
//   exact text of the parent
//   =======
//   its replacement
//   >>>>>>> REPLACE
//
// Regions run from a line containing EVOLVE-BLOCK-START to one containing EVOLVE-BLOCK-END; a
// program without markers is one region, the whole file.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kf::search {

struct SearchReplace {
  std::string search, replace;
};

// The blocks in a reply, in order (none when the reply has no block).
std::vector<SearchReplace> ParseSearchReplace(const std::string& reply);

// [begin, end) byte ranges of the editable regions (between the marker lines).
std::vector<std::pair<size_t, size_t>> EvolveRegions(const std::string& program);

struct EditResult {
  bool ok = false;
  std::string program;  // the edited program when ok
  std::string verdict;  // "bad_edit" or "edit_outside_evolve_block" when not ok
  std::string message;  // what went wrong, for the model
};

// Applies the blocks one after another: each SEARCH must match the current text exactly (its
// first occurrence), and lie inside an editable region.
EditResult ApplyEdits(const std::string& program, const std::vector<SearchReplace>& edits);

}  // namespace kf::search
