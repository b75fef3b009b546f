#include "eval/sandbox.h"

#include <unistd.h>

#include <mutex>

#include "util/subprocess.h"

namespace kf::eval {
namespace fs = std::filesystem;

namespace {

// What every command needs to start and link: programs, libraries, the loader's cache and the
// alternatives links (/etc), and /sys for the CPU's topology and the GPU driver's PCI view. A
// merged-/usr system has /bin, /lib... as symlinks into /usr, made again as symlinks.
const char* const kSystemDirs[] = {"/usr",   "/bin",    "/sbin", "/lib", "/lib32",
                                   "/lib64", "/libx32", "/etc",  "/sys"};

void AddSystemView(std::vector<std::string>& argv) {
  for (const char* dir : kSystemDirs) {
    std::error_code ec;
    const auto status = fs::symlink_status(dir, ec);
    if (ec || !fs::exists(status)) continue;
    if (fs::is_symlink(status)) {
      const fs::path target = fs::read_symlink(dir, ec);
      if (!ec) argv.insert(argv.end(), {"--symlink", target.string(), dir});
    } else {
      argv.insert(argv.end(), {"--ro-bind", dir, dir});
    }
  }
}

}  // namespace

std::vector<std::string> SandboxPrefix(const SandboxSpec& spec) {
  std::vector<std::string> argv = {"bwrap"};
  if (spec.view == SandboxView::kHost) {
    argv.insert(argv.end(), {"--ro-bind", "/", "/"});
  } else {
    AddSystemView(argv);
  }
  argv.insert(argv.end(), {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--unshare-net",
                           "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"});
  for (const auto& dev : spec.devices) {
    if (fs::exists(dev)) argv.insert(argv.end(), {"--dev-bind", dev, dev});
  }
  for (const auto& p : spec.read_only) {
    // Under kHost only what the private /tmp hides needs a bind of its own.
    if (spec.view == SandboxView::kHost && p.string().rfind("/tmp", 0) != 0) continue;
    std::error_code ec;
    if (fs::exists(p, ec)) argv.insert(argv.end(), {"--ro-bind", p.string(), p.string()});
  }
  for (const auto& p : spec.writable) {
    argv.insert(argv.end(), {"--bind", p.string(), p.string()});
  }
  if (!spec.writable.empty()) argv.insert(argv.end(), {"--chdir", spec.writable[0].string()});
  argv.push_back("--");
  return argv;
}

std::vector<std::string> SandboxPrefix(const fs::path& scratch,
                                       const std::vector<fs::path>& read_only,
                                       const std::vector<std::string>& devices, SandboxView view) {
  return SandboxPrefix(SandboxSpec{view, {scratch}, read_only, devices});
}

SandboxPlan ProbeSandbox() {
  static std::once_flag once;
  static SandboxPlan plan;
  std::call_once(once, [] {
    std::error_code ec;
    const fs::path scratch =
        fs::temp_directory_path(ec) / ("kforge-probe-" + std::to_string(getpid()));
    fs::create_directories(scratch, ec);
    auto argv = SandboxPrefix(SandboxSpec{SandboxView::kSystem, {scratch}, {}, {}});
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
