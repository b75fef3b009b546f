// printf-style formatting of one number into a std::string, for tables and reports.
#pragma once

#include <cstdio>
#include <string>

namespace kf::util {

// `format` takes one double (e.g. "%.2fx"); output longer than 63 characters is cut.
inline std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

}  // namespace kf::util
