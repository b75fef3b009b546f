// kforge serve: the dashboard's HTTP server (cpp-httplib). It serves the page (assets compiled
// into the binary) and the JSON API under /api/ (docs/dashboard.md) over the run stores it was
// given, read-only. Errors become JSON ({"error": "..."}) at the edge, never a crash.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kf::web {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8321;  // 0: any free port
  // Run directories, or directories whose subdirectories are runs (rescanned on each listing).
  std::vector<std::filesystem::path> paths;
};

// Serves until the process is stopped. `on_listen` receives the URL once the port is bound.
// Returns false (with `error` set) when the address cannot be bound.
bool Serve(const ServeOptions& options, const std::function<void(const std::string&)>& on_listen,
           std::string* error);

}  // namespace kf::web
