// Small file helpers shared by the CLI and the evaluator.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kf {

// The whole file, or "" when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kf
