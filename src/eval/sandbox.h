// Where the host allows it, workers and compilers run under bubblewrap: no network, their own
// PID, IPC and UTS namespaces, death with their parent, private /tmp, /proc and /dev, and a
// file-system view that shows only what the command needs. Inside, a worker adds its own
// system-call filter (backends/seccomp_filter.h). Where bubblewrap cannot run, commands run as
// plain processes and results say so. Thread-safe.
//
// The view (docs/security.md, "File system view"):
// - kSystem: the system directories (/usr, /bin, /sbin, /lib*, /etc) and /sys, read-only; plus
//   what the caller lists. Home directories, /root, /work, /opt, /var, /mnt, /srv and the rest
//   of the compile cache stay hidden unless listed. kforge's own workers and the compilers.
// - kHost: all of / read-only, the old view: for commands whose files may live anywhere (the
//   PyTorch bridge's interpreter and packages, a profiler).
// Either way only `writable` can be written, and /tmp is a private tmpfs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kf::eval {

struct SandboxPlan {
  bool bwrap = false;
  std::string why_not;  // when !bwrap: the reason
};

// Checks once per process whether bubblewrap works here (runs `bwrap ... true` with the
// kSystem view).
SandboxPlan ProbeSandbox();

enum class SandboxView { kSystem, kHost };

struct SandboxSpec {
  SandboxView view = SandboxView::kSystem;
  std::vector<std::filesystem::path> writable;   // bound read-write; the first is the cwd
  std::vector<std::filesystem::path> read_only;  // extra paths visible read-only
  std::vector<std::string> devices;              // device nodes bound read-write (GPUs)
};

// The argv prefix that runs a command inside the sandbox described by spec (ending in "--").
std::vector<std::string> SandboxPrefix(const SandboxSpec& spec);

// The former interface: scratch writable, `read_only` visible, everything else of / visible
// read-only when view is kHost, hidden when kSystem.
std::vector<std::string> SandboxPrefix(const std::filesystem::path& scratch,
                                       const std::vector<std::filesystem::path>& read_only,
                                       const std::vector<std::string>& devices = {},
                                       SandboxView view = SandboxView::kHost);

}  // namespace kf::eval
