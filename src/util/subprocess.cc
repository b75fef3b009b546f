#include "util/subprocess.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kf {

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string SignalName(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGSYS:
      return "SIGSYS";
    case SIGXFSZ:
      return "SIGXFSZ";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGPIPE:
      return "SIGPIPE";
    default:
      return "signal " + std::to_string(sig);
  }
}

std::string ExitInfo::Describe() const {
  if (signaled) return "killed by " + SignalName(signal);
  return "exited with status " + std::to_string(code);
}

Result<pid_t> Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return Status::Error("spawn: empty command");
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (!spec.clean_env) {
    for (char** e = environ; e && *e; ++e) envp.push_back(*e);
  }
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return Status::Error(std::string("open /dev/null: ") + strerror(errno));
  const pid_t parent = getpid();
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(devnull);
    return Status::Error(std::string("pipe: ") + strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(devnull);
    close(err_pipe[0]);
    close(err_pipe[1]);
    return Status::Error(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    // Move the mapped descriptors out of the way first, so dup2 cannot clobber a source.
    int staged[16];
    const size_t n = spec.fds.size() < 16 ? spec.fds.size() : 16;
    for (size_t i = 0; i < n; ++i) staged[i] = fcntl(spec.fds[i].second, F_DUPFD_CLOEXEC, 64);
    const int err_fd = fcntl(err_pipe[1], F_DUPFD_CLOEXEC, 64);
    dup2(devnull, 0);
    const int out = spec.output_fd >= 0 ? spec.output_fd : devnull;
    dup2(out, 1);
    dup2(out, 2);
    for (size_t i = 0; i < n; ++i) dup2(staged[i], spec.fds[i].first);
    int highest = 2;
    for (size_t i = 0; i < n; ++i)
      highest = spec.fds[i].first > highest ? spec.fds[i].first : highest;
    // Everything else closes at exec; the error pipe stays open until then.
    syscall(SYS_close_range, highest + 1, ~0U, CLOSE_RANGE_CLOEXEC);
    auto limit = [](int resource, unsigned long long v) {
      if (v == 0) return;
      rlimit rl{v, v};
      setrlimit(resource, &rl);
    };
    limit(RLIMIT_AS, spec.limits.address_space_bytes);
    limit(RLIMIT_FSIZE, spec.limits.file_size_bytes);
    limit(RLIMIT_NOFILE, spec.limits.open_files);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) _exit(127);
    execvpe(argv[0], argv.data(), envp.data());
    const int e = errno;
    ssize_t ignored = write(err_fd, &e, sizeof(e));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);
  close(devnull);
  close(err_pipe[1]);
  int child_errno = 0;
  ssize_t got;
  do {
    got = read(err_pipe[0], &child_errno, sizeof(child_errno));
  } while (got < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (got == sizeof(child_errno)) {
    Reap(pid);
    return Status::Error("cannot run '" + spec.argv[0] + "': " + strerror(child_errno));
  }
  return pid;
}

ExitInfo Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signaled = true;
    info.signal = WTERMSIG(status);
  } else {
    info.code = WEXITSTATUS(status);
  }
  return info;
}

ExitInfo KillAndReap(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  return Reap(pid);
}

Result<RunResult> RunCommand(const std::vector<std::string>& argv, double timeout_s,
                             size_t max_output, const std::string& cwd) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Error(std::string("pipe: ") + strerror(errno));
  SpawnSpec spec;
  spec.argv = argv;
  spec.output_fd = out[1];
  spec.cwd = cwd;
  const double start = MonotonicSeconds();
  auto pid = Spawn(spec);
  close(out[1]);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  RunResult r;
  char buf[65536];
  for (;;) {
    const double left = timeout_s - (MonotonicSeconds() - start);
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < max_output) {
      r.output.append(buf, std::min(static_cast<size_t>(n), max_output - r.output.size()));
    }
  }
  close(out[0]);
  r.exit = r.timed_out ? KillAndReap(*pid) : Reap(*pid);
  r.seconds = MonotonicSeconds() - start;
  return r;
}

}  // namespace kf
