#include "eval/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "eval/sandbox.h"

namespace kf::eval {
namespace fs = std::filesystem;
using json = nlohmann::json;

Result<std::unique_ptr<Worker>> Worker::Start(const WorkerConfig& config, int index, int arena_fd) {
  std::unique_ptr<Worker> w(new Worker());
  std::error_code ec;
  // A name of its own: the worker before it may still be ending, and removing its directory.
  static std::atomic<uint64_t> started{0};
  w->scratch_ = config.scratch_root /
                ("worker-" + std::to_string(index) + "-" + std::to_string(started.fetch_add(1)));
  fs::remove_all(w->scratch_, ec);
  fs::create_directories(w->scratch_, ec);
  if (ec)
    return Status::Error("cannot create scratch " + w->scratch_.string() + ": " + ec.message());

  int req[2], rep[2];
  if (pipe2(req, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) {
    return Status::Error(std::string("pipe: ") + strerror(errno));
  }
  w->request_fd_ = req[1];
  w->reply_fd_ = rep[0];
  w->arena_fd_ = arena_fd >= 0 ? fcntl(arena_fd, F_DUPFD_CLOEXEC, 0)
                               : memfd_create("kforge-arena", MFD_CLOEXEC);
  const std::string log = (w->scratch_ / "output.log").string();
  w->output_fd_ = open(log.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->arena_fd_ < 0 || w->output_fd_ < 0) {
    return Status::Error(std::string("worker setup: ") + strerror(errno));
  }

  SpawnSpec spec;
  const SandboxPlan plan =
      config.sandbox ? ProbeSandbox() : SandboxPlan{false, "disabled (--no-sandbox)"};
  if (plan.bwrap) {
    const std::string name = config.binary.filename().string();
    const bool own_worker = config.prefix.empty() && name.rfind("kforge-", 0) == 0;
    SandboxSpec view;
    view.view = config.view == WorkerConfig::View::kSystem ||
                        (config.view == WorkerConfig::View::kAuto && own_worker)
                    ? SandboxView::kSystem
                    : SandboxView::kHost;
    view.writable = {w->scratch_};
    view.read_only = config.read_only;
    // The worker binary itself must be visible (a build under /tmp or a home is hidden
    // otherwise); only the file, not the build directory with its run stores beside it.
    view.read_only.push_back(fs::absolute(config.binary));
    if (view.view == SandboxView::kHost)
      view.read_only.back() = view.read_only.back().parent_path();
    view.devices = config.devices;
    spec.argv = SandboxPrefix(view);
  }
  spec.argv.insert(spec.argv.end(), config.prefix.begin(), config.prefix.end());
  spec.argv.push_back(config.binary.string());
  spec.argv.insert(spec.argv.end(), config.args.begin(), config.args.end());
  if (!config.seccomp) spec.argv.push_back("--no-seccomp");
  if (!config.threads) spec.argv.push_back("--no-threads");
  spec.fds = {{3, req[0]}, {4, rep[1]}, {5, w->arena_fd_}};
  spec.output_fd = w->output_fd_;
  spec.cwd = w->scratch_.string();
  spec.limits = config.limits;
  // Candidates see no secrets of the user's environment (API keys live there).
  spec.clean_env = true;
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + w->scratch_.string(),
              "TMPDIR=" + w->scratch_.string()};
  spec.env.insert(spec.env.end(), config.env.begin(), config.env.end());
  auto pid = Spawn(spec);
  close(req[0]);
  close(rep[1]);
  if (!pid.ok()) return Status::Error("cannot start worker: " + pid.status().message());
  w->pid_ = *pid;
  w->bwrap_ = plan.bwrap;

  Reply hello = w->Request({{"op", "hello"}}, config.start_timeout_s);
  if (!hello.ok()) {
    return Status::Error("worker " + config.binary.string() + " did not start: " + hello.message +
                         " " + w->TakeOutput());
  }
  w->hello_ = hello.body;
  const bool filtered = hello.body.value("seccomp", false);
  w->sandbox_ =
      plan.bwrap ? (filtered ? "bwrap+seccomp" : "bwrap") : (filtered ? "seccomp" : "none");
  if (!plan.bwrap) w->sandbox_note_ = plan.why_not;
  if (!filtered) {
    w->sandbox_note_ += std::string(w->sandbox_note_.empty() ? "" : "; ") +
                        (config.seccomp ? "the kernel refused the system-call filter"
                                        : "system-call filter disabled");
  }
  return w;
}

Worker::~Worker() {
  Kill();
  for (int fd : {request_fd_, reply_fd_, arena_fd_, output_fd_}) {
    if (fd >= 0) close(fd);
  }
  if (arena_) munmap(arena_, arena_size_);
  std::error_code ec;
  if (!scratch_.empty()) fs::remove_all(scratch_, ec);
}

void Worker::Finish(double timeout_s) {
  if (request_fd_ >= 0) close(request_fd_);
  request_fd_ = -1;
  const double start = MonotonicSeconds();
  while (pid_ > 0 && MonotonicSeconds() - start < timeout_s) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return;
    }
    usleep(20000);
  }
  Kill();
}

void Worker::Pause() {
  if (pid_ > 0 && !paused_) {
    kill(-pid_, SIGSTOP);
    paused_ = true;
  }
}

void Worker::Resume() {
  if (pid_ > 0 && paused_) kill(-pid_, SIGCONT);
  paused_ = false;
}

std::optional<Worker::Arena> Worker::Detach() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
  }
  if (!bwrap_ || arena_fd_ < 0) return std::nullopt;
  Arena a{arena_fd_, arena_, arena_size_};
  arena_fd_ = -1;
  arena_ = nullptr;
  arena_size_ = 0;
  return a;
}

Status Worker::Adopt(Arena arena) {
  // This worker was started on a duplicate of the arena's file: the mapping here becomes its.
  if (arena_) munmap(arena_, arena_size_);
  close(arena.fd);
  arena_ = arena.data;
  arena_size_ = arena.size;
  if (arena_size_ == 0) return Status::Ok();
  Reply r = Request(
      {{"op", "map"}, {"size", arena_size_}, {"populate", arena_size_ <= kKeepPagesLimit}}, 10);
  if (!r.ok()) return Status::Error("worker could not map the arena: " + r.message);
  return Status::Ok();
}

void Worker::Release(Arena& arena) {
  if (arena.data) munmap(arena.data, arena.size);
  if (arena.fd >= 0) close(arena.fd);
  arena = Arena{};
}

void Worker::Wipe(Arena& arena) {
  if (arena.size <= kKeepPagesLimit) {
    std::memset(arena.data, 0, arena.size);
  } else {
    fallocate(arena.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
              static_cast<off_t>(arena.size));
  }
}

void Worker::Kill() {
  if (pid_ > 0) {
    exit_ = KillAndReap(pid_);
    pid_ = -1;
  }
}

Reply Worker::Died(Reply r) {
  // The worker closed its channel: collect how it ended. bubblewrap reports a signal that ended
  // the worker as exit status 128 + signal.
  if (pid_ > 0) {
    exit_ = Reap(pid_);
    pid_ = -1;
  }
  if (bwrap_ && !exit_.signaled && exit_.code > 128 && exit_.code < 128 + 65) {
    exit_.signaled = true;
    exit_.signal = exit_.code - 128;
  }
  r.kind = Reply::Kind::kDied;
  r.exit = exit_;
  r.message = exit_.Describe();
  return r;
}

Reply Worker::Request(const json& request, double timeout_s) {
  Reply r;
  if (pid_ <= 0) {
    r.kind = Reply::Kind::kDied;
    r.exit = exit_;
    r.message = "the worker is no longer running (" + exit_.Describe() + ")";
    return r;
  }
  Resume();
  const double start = MonotonicSeconds();
  const std::string line = request.dump() + "\n";
  size_t sent = 0;
  signal(SIGPIPE, SIG_IGN);
  while (sent < line.size()) {
    const ssize_t n = write(request_fd_, line.data() + sent, line.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Died(r);
    sent += static_cast<size_t>(n);
  }
  for (;;) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      const std::string reply = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      r.seconds = MonotonicSeconds() - start;
      try {
        r.body = json::parse(reply);
      } catch (const std::exception&) {
        Kill();
        r.kind = Reply::Kind::kError;
        r.message = "the worker's channel carried garbage (was it written by the candidate?)";
        return r;
      }
      if (r.body.contains("violation")) {
        r.kind = Reply::Kind::kViolation;
        r.message = r.body.value("violation", "unknown");
        Kill();
        return r;
      }
      if (!r.body.value("ok", false)) {
        r.kind = Reply::Kind::kError;
        r.message = r.body.value("error", "unknown error");
        if (r.body.value("fatal", false)) Kill();
      }
      return r;
    }
    const double left = timeout_s - (MonotonicSeconds() - start);
    if (left <= 0) {
      Kill();
      r.kind = Reply::Kind::kTimeout;
      r.seconds = MonotonicSeconds() - start;
      r.message = "no reply within " + std::to_string(timeout_s) + " s";
      return r;
    }
    pollfd p{reply_fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    char chunk[65536];
    const ssize_t n = read(reply_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.seconds = MonotonicSeconds() - start;
      return Died(r);
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Status Worker::EnsureArena(size_t bytes) {
  bytes = (bytes + 4095) & ~size_t{4095};
  if (bytes <= arena_size_) return Status::Ok();
  if (ftruncate(arena_fd_, static_cast<off_t>(bytes)) != 0) {
    return Status::Error(std::string("arena: ") + strerror(errno));
  }
  if (arena_) munmap(arena_, arena_size_);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, arena_fd_, 0);
  if (p == MAP_FAILED) {
    arena_ = nullptr;
    arena_size_ = 0;
    return Status::Error(std::string("arena mmap: ") + strerror(errno));
  }
  arena_ = static_cast<unsigned char*>(p);
  arena_size_ = bytes;
  Reply r = Request({{"op", "map"}, {"size", bytes}}, 10);
  if (!r.ok()) return Status::Error("worker could not map the arena: " + r.message);
  return Status::Ok();
}

void Worker::ReleaseArena(size_t offset, size_t bytes) {
  if (offset >= arena_size_) return;
  bytes = std::min(bytes, arena_size_ - offset);
  fallocate(arena_fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
            static_cast<off_t>(bytes));
}

std::string Worker::TakeOutput(size_t max_bytes) {
  const off_t end = lseek(output_fd_, 0, SEEK_END);
  if (end <= output_read_) return "";
  off_t from = output_read_;
  std::string prefix;
  if (end - from > static_cast<off_t>(max_bytes)) {
    from = end - static_cast<off_t>(max_bytes);
    prefix = "[... " + std::to_string(from - output_read_) + " bytes cut ...]\n";
  }
  std::string out(static_cast<size_t>(end - from), '\0');
  const ssize_t n = pread(output_fd_, out.data(), out.size(), from);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  output_read_ = end;
  return prefix + out;
}

}  // namespace kf::eval
