#include <cstdio>

#include "cli/commands.h"

namespace kf::cli {

int RunReport(const std::vector<std::string>&) {
  std::fprintf(stderr, "kforge report: not built yet\n");
  return 2;
}

}  // namespace kf::cli
