// Small file helpers shared by the CLI and the evaluator.
#pragma once

#include <unistd.h>

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

// Writes through a temporary file renamed into place, so readers never see a partial file.
inline bool WriteFileAtomically(const std::filesystem::path& p, const std::string& data) {
  const std::filesystem::path tmp = p.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << data;
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, p, ec);
  return !ec;
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
