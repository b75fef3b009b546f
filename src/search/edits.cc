#include "search/edits.h"

namespace kf::search {

std::vector<SearchReplace> ParseSearchReplace(const std::string& reply) {
  std::vector<SearchReplace> out;
  size_t pos = 0;
  auto line_after = [&](size_t at) {
    const size_t nl = reply.find('\n', at);
    return nl == std::string::npos ? reply.size() : nl + 1;
  };
  while (true) {
    const size_t s = reply.find("<<<<<<< SEARCH", pos);
    if (s == std::string::npos) break;
    const size_t body = line_after(s);
    const size_t mid = reply.find("\n=======", body - 1);
    if (mid == std::string::npos) break;
    const size_t repl = line_after(mid + 1);
    const size_t end = reply.find("\n>>>>>>> REPLACE", repl - 1);
    if (end == std::string::npos) break;
    SearchReplace sr;
    sr.search = mid >= body ? reply.substr(body, mid + 1 - body) : "";
    sr.replace = end >= repl ? reply.substr(repl, end + 1 - repl) : "";
    out.push_back(sr);
    pos = end + 16;
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> EvolveRegions(const std::string& program) {
  std::vector<std::pair<size_t, size_t>> regions;
  size_t pos = 0;
  while (true) {
    const size_t start = program.find("EVOLVE-BLOCK-START", pos);
    if (start == std::string::npos) break;
    size_t begin = program.find('\n', start);
    begin = begin == std::string::npos ? program.size() : begin + 1;
    const size_t stop = program.find("EVOLVE-BLOCK-END", begin);
    size_t end = stop == std::string::npos ? program.size() : program.rfind('\n', stop);
    if (end == std::string::npos || end < begin)
      end = begin;
    else
      end += 1;
    regions.emplace_back(begin, end);
    if (stop == std::string::npos) break;
    pos = stop + 16;
  }
  if (regions.empty()) regions.emplace_back(0, program.size());
  return regions;
}

EditResult ApplyEdits(const std::string& program, const std::vector<SearchReplace>& edits) {
  EditResult r;
  if (edits.empty()) {
    r.verdict = "bad_edit";
    r.message =
        "the reply has no SEARCH/REPLACE block (<<<<<<< SEARCH, =======, >>>>>>> REPLACE, each "
        "on its own line)";
    return r;
  }
  std::string text = program;
  for (size_t i = 0; i < edits.size(); ++i) {
    const auto& e = edits[i];
    const std::string which =
        "edit " + std::to_string(i + 1) + " of " + std::to_string(edits.size());
    if (e.search.empty()) {
      r.verdict = "bad_edit";
      r.message = which + " has an empty SEARCH section";
      return r;
    }
    const size_t at = text.find(e.search);
    if (at == std::string::npos) {
      r.verdict = "bad_edit";
      r.message = which +
                  ": its SEARCH text does not appear in the program exactly (whitespace "
                  "included). SEARCH was:\n" +
                  e.search.substr(0, 600);
      return r;
    }
    bool inside = false;
    for (const auto& [b, end] : EvolveRegions(text))
      inside |= at >= b && at + e.search.size() <= end;
    if (!inside) {
      r.verdict = "edit_outside_evolve_block";
      r.message = which +
                  " changes text outside the EVOLVE-BLOCK regions (between the lines "
                  "marked EVOLVE-BLOCK-START and EVOLVE-BLOCK-END); only those may change";
      return r;
    }
    text.replace(at, e.search.size(), e.replace);
  }
  r.ok = true;
  r.program = text;
  return r;
}

}  // namespace kf::search
