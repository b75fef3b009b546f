// Child processes the way kforge needs them: argv without a shell, each child in its own process
// group (so a kill reaches everything it started), stdin from /dev/null, chosen descriptors
// mapped into the child and nothing else inherited, resource limits, a parent-death signal, and
// deadlines enforced by SIGKILL to the whole group. Functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kf {

struct ResourceLimits {
  unsigned long long address_space_bytes = 0;  // 0: unlimited
  unsigned long long file_size_bytes = 0;
  unsigned long long open_files = 0;
};

struct SpawnSpec {
  std::vector<std::string> argv;
  std::vector<std::pair<int, int>> fds;  // {child fd, parent fd}; child fds must be >= 3
  int output_fd = -1;                    // stdout and stderr; -1: /dev/null
  std::string cwd;
  ResourceLimits limits;
  bool clean_env = false;        // start from an empty environment plus `env`
  std::vector<std::string> env;  // "NAME=value" entries added to the child's environment
};

struct ExitInfo {
  bool signaled = false;
  int code = 0;    // exit code when !signaled
  int signal = 0;  // when signaled
  std::string Describe() const;
};

Result<pid_t> Spawn(const SpawnSpec& spec);

// SIGKILL to the child's process group, then reap the child.
ExitInfo KillAndReap(pid_t pid);
ExitInfo Reap(pid_t pid);

struct RunResult {
  bool timed_out = false;
  ExitInfo exit;
  std::string output;  // stdout and stderr interleaved, at most max_output bytes
  double seconds = 0;
};

// Runs argv to completion or until timeout_s, capturing its output.
Result<RunResult> RunCommand(const std::vector<std::string>& argv, double timeout_s,
                             size_t max_output = 1 << 20, const std::string& cwd = "");

std::string SignalName(int sig);
double MonotonicSeconds();

}  // namespace kf
