// `kforge serve [RUN_DIR|DIR ...]`: the live dashboard of runs (docs/dashboard.md).
#include <cstdio>
#include <filesystem>

#include "cli/cli_app.h"
#include "cli/commands.h"
#ifdef KFORGE_HAVE_HTTPLIB
#include "web/server.h"
#endif

namespace kf::cli {
namespace fs = std::filesystem;

int RunServe(const std::vector<std::string>& args) {
#ifndef KFORGE_HAVE_HTTPLIB
  (void)args;
  std::fprintf(stderr,
               "kforge serve: this kforge was built without cpp-httplib (scripts/setup installs "
               "libcpp-httplib-dev); `kforge report RUN_DIR` works without it\n");
  return 2;
#else
  web::ServeOptions opt;
  std::vector<std::string> paths;
  auto app = NewCommandApp(
      "serve",
      "Serves a read-only dashboard of the runs (a DIR's subdirectories that are runs count "
      "too; default ./runs) on http://127.0.0.1:8321/. docs/dashboard.md.");
  app->add_option("PATHS", paths, "run directories, or directories of runs")
      ->type_name("RUN_DIR|DIR")
      ->take_all();
  app->add_option("--port", opt.port,
                  "the port (default " + std::to_string(opt.port) + "; 0: any free port)")
      ->type_name("N")
      ->check(IntegerAtMost(65535));
  app->add_option("--host", opt.host, "the address to listen on (default " + opt.host + ")")
      ->type_name("ADDR");
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  opt.paths.assign(paths.begin(), paths.end());
  if (opt.paths.empty()) opt.paths.push_back("runs");
  for (const auto& p : opt.paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      std::fprintf(stderr, "kforge serve: %s is not a directory (give run directories)\n",
                   p.c_str());
      return 2;
    }
  }
  std::string error;
  const bool ok = web::Serve(
      opt,
      [&](const std::string& url) {
        std::printf("kforge serve: %s (read-only; Ctrl-C stops)\n", url.c_str());
        std::fflush(stdout);
      },
      &error);
  if (!ok) {
    std::fprintf(stderr, "kforge serve: %s\n", error.c_str());
    return 2;
  }
  return 0;
#endif
}

}  // namespace kf::cli
