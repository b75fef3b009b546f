// Small file helpers shared by the CLI and the evaluator.
#pragma once

#include <cstdlib>
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

// kforge's cache: $KFORGE_CACHE, else $XDG_CACHE_HOME/kforge, else ~/.cache/kforge.
inline std::filesystem::path CacheRoot() {
  if (const char* v = std::getenv("KFORGE_CACHE"); v && *v) return v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v)
    return std::filesystem::path(v) / "kforge";
  if (const char* v = std::getenv("HOME"); v && *v)
    return std::filesystem::path(v) / ".cache" / "kforge";
  return std::filesystem::temp_directory_path() / "kforge-cache";
}

}  // namespace kf
