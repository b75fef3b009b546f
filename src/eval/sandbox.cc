#include "eval/sandbox.h"

#include <unistd.h>

#include <mutex>

#include "util/subprocess.h"

namespace kf::eval {
namespace fs = std::filesystem;

std::vector<std::string> SandboxPrefix(const fs::path& scratch,
                                       const std::vector<fs::path>& read_only,
                                       const std::vector<std::string>& devices) {
  std::vector<std::string> argv = {"bwrap",
                                   "--ro-bind",
                                   "/",
                                   "/",
                                   "--dev",
                                   "/dev",
                                   "--proc",
                                   "/proc",
                                   "--tmpfs",
                                   "/tmp",
                                   "--unshare-net",
                                   "--unshare-pid",
                                   "--unshare-ipc",
                                   "--unshare-uts",
                                   "--die-with-parent"};
  for (const auto& dev : devices) {
    if (fs::exists(dev)) {
      argv.insert(argv.end(), {"--dev-bind", dev, dev});
    }
  }
  for (const auto& p : read_only) {
    if (p.string().rfind("/tmp", 0) == 0 && fs::exists(p)) {
      argv.insert(argv.end(), {"--ro-bind", p.string(), p.string()});
    }
  }
  argv.insert(argv.end(),
              {"--bind", scratch.string(), scratch.string(), "--chdir", scratch.string(), "--"});
  return argv;
}

SandboxPlan ProbeSandbox() {
  static std::once_flag once;
  static SandboxPlan plan;
  std::call_once(once, [] {
    std::error_code ec;
    const fs::path scratch =
        fs::temp_directory_path(ec) / ("kforge-probe-" + std::to_string(getpid()));
    fs::create_directories(scratch, ec);
    auto argv = SandboxPrefix(scratch, {});
    argv.push_back("true");
    auto r = RunCommand(argv, 10);
    fs::remove_all(scratch, ec);
    if (!r.ok()) {
      plan.why_not = "bubblewrap is not installed (" + r.status().message() + ")";
    } else if (r->timed_out || r->exit.signaled || r->exit.code != 0) {
      std::string out = r->output.substr(0, 300);
      while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
      plan.why_not = "bubblewrap cannot run here: " + out;
    } else {
      plan.bwrap = true;
    }
  });
  return plan;
}

}  // namespace kf::eval
