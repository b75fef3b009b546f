#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/commands.h"
#ifdef KFORGE_HAVE_HTTPLIB
#include "web/server.h"
#endif

namespace kf::cli {
namespace fs = std::filesystem;

namespace {
const char* kServeUsage =
    "usage: kforge serve [RUN_DIR|DIR ...] [--port N] [--host ADDR]\n"
    "  Serves a dashboard of the runs (a DIR's subdirectories that are runs count too; default\n"
    "  ./runs) on http://127.0.0.1:8321/ (--port 0: any free port). docs/dashboard.md\n";
}

int RunServe(const std::vector<std::string>& args) {
#ifndef KFORGE_HAVE_HTTPLIB
  (void)args;
  (void)kServeUsage;
  std::fprintf(stderr,
               "kforge serve: this kforge was built without cpp-httplib (scripts/setup installs "
               "libcpp-httplib-dev); `kforge report RUN_DIR` works without it\n");
  return 2;
#else
  web::ServeOptions opt;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--port" && i + 1 < args.size()) {
      char* end = nullptr;
      const long port = std::strtol(args[++i].c_str(), &end, 10);
      if (*end || port < 0 || port > 65535) {
        std::fprintf(stderr, "kforge serve: --port expects 0 to 65535, got '%s'\n",
                     args[i].c_str());
        return 2;
      }
      opt.port = static_cast<int>(port);
    } else if (a == "--host" && i + 1 < args.size()) {
      opt.host = args[++i];
    } else if (a == "--help" || a == "-h") {
      std::fputs(kServeUsage, stdout);
      return 0;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "kforge serve: unknown option or missing value '%s'\n%s", a.c_str(),
                   kServeUsage);
      return 2;
    } else {
      opt.paths.push_back(a);
    }
  }
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
