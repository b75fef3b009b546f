// Where the host allows it, workers run under bubblewrap: no network, a read-only view of the
// file system except the worker's own scratch directory, private /tmp, /proc and /dev, their own
// PID and IPC namespaces, and death with their parent. Inside, the worker adds its own
// system-call filter (backends/cpu/seccomp_filter.h). Where bubblewrap cannot run, workers run
// as plain processes and results say so. Thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kf::eval {

struct SandboxPlan {
  bool bwrap = false;
  std::string why_not;  // when !bwrap: the reason
};

// Checks once per process whether bubblewrap works here (runs `bwrap ... true`).
SandboxPlan ProbeSandbox();

// The argv prefix that runs a command inside the sandbox with scratch writable and the given
// extra paths visible read-only (paths under /tmp are hidden by the private /tmp otherwise).
// `devices` are bound in read-write (GPU device nodes).
std::vector<std::string> SandboxPrefix(const std::filesystem::path& scratch,
                                       const std::vector<std::filesystem::path>& read_only,
                                       const std::vector<std::string>& devices = {});

}  // namespace kf::eval
