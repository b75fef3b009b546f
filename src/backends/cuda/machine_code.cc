#include "backends/cuda/machine_code.h"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "util/files.h"
#include "util/subprocess.h"

namespace kf::backends::cuda {
namespace fs = std::filesystem;

namespace {

nlohmann::json SassSummaryUncached(const fs::path& lib) {
  const char* tools[] = {"/usr/local/cuda/bin/cuobjdump", "cuobjdump"};
  for (const char* tool : tools) {
    auto r = RunCommand({tool, "-sass", lib.string()}, 60, 64 << 20);
    if (!r.ok() || r->timed_out || r->exit.code != 0) continue;
    nlohmann::json counts = nlohmann::json::object();
    for (const char* op : {"HGMMA", "HMMA", "QGMMA", "FFMA", "LDG", "STG", "LDS", "STS", "LDL",
                           "STL", "SHFL", "BAR", "UTMALDG"}) {
      size_t n = 0;
      const std::string needle = std::string(" ") + op;
      for (size_t at = r->output.find(needle); at != std::string::npos;
           at = r->output.find(needle, at + 1)) {
        const char next =
            at + needle.size() < r->output.size() ? r->output[at + needle.size()] : ' ';
        if (next == '.' || next == ' ') ++n;
      }
      counts[op] = n;
    }
    return counts;
  }
  return nullptr;
}

}  // namespace

nlohmann::json SassSummary(const fs::path& lib) {
  const fs::path file = lib.parent_path() / "sass.json";
  try {
    if (fs::is_regular_file(file)) return nlohmann::json::parse(ReadFile(file));
  } catch (const std::exception&) {
    // A damaged summary is made again.
  }
  nlohmann::json counts = SassSummaryUncached(lib);
  if (!counts.is_null()) WriteFileAtomically(file, counts.dump());
  return counts;
}

nlohmann::json ParsePtxasResources(const std::string& log) {
  nlohmann::json kernels = nlohmann::json::array();
  std::istringstream in(log);
  std::string line;
  nlohmann::json current;
  auto number_before = [](const std::string& l, const std::string& what) -> long {
    const size_t at = l.find(what);
    if (at == std::string::npos) return -1;
    size_t start = at;
    while (start > 0 && (std::isdigit(static_cast<unsigned char>(l[start - 1])))) --start;
    return start < at ? std::stol(l.substr(start, at - start)) : -1;
  };
  while (std::getline(in, line)) {
    const size_t fn = line.find("Compiling entry function '");
    if (fn != std::string::npos) {
      if (!current.is_null()) kernels.push_back(current);
      const size_t b = fn + 26, e = line.find('\'', b);
      current = {{"kernel", line.substr(b, e - b)}};
      continue;
    }
    if (current.is_null()) continue;
    if (long v = number_before(line, " bytes stack frame"); v >= 0) current["stack_bytes"] = v;
    if (long v = number_before(line, " bytes spill stores"); v >= 0) current["spill_stores"] = v;
    if (long v = number_before(line, " bytes spill loads"); v >= 0) current["spill_loads"] = v;
    if (long v = number_before(line, " registers"); v >= 0) current["registers"] = v;
    if (long v = number_before(line, " bytes smem"); v >= 0) current["shared_bytes"] = v;
  }
  if (!current.is_null()) kernels.push_back(current);
  return kernels;
}

}  // namespace kf::backends::cuda
