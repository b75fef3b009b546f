// The dashboard's files (src/web/assets), compiled into kforge by cmake/embed_assets.cmake.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace kf::web {

struct Asset {
  const char* path;  // "/index.html", "/app.js", ...
  const unsigned char* data;
  size_t size;
};

const std::vector<Asset>& Assets();

}  // namespace kf::web
