// One worker process as the orchestrator sees it: started (sandboxed where possible), spoken to
// in JSON lines over a pipe pair only the harness holds, sharing a memory arena with the
// orchestrator, and killed with its whole process group when it hangs past a deadline, dies, or
// misbehaves. A dead worker answers every later request with the same failure; the owner
// replaces it (WorkerSlot). Not thread-safe: one owner at a time.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"
#include "util/subprocess.h"

namespace kf::eval {

struct WorkerConfig {
  std::filesystem::path binary;                  // e.g. build/kforge-cpu-worker
  std::vector<std::string> args;                 // extra worker arguments
  std::vector<std::string> prefix;               // a command that runs the worker (a profiler)
  std::filesystem::path scratch_root;            // each worker gets a directory under it
  std::vector<std::filesystem::path> read_only;  // paths the worker must see (compile cache)
  std::vector<std::string> devices;              // device nodes bound into the sandbox (GPUs)
  std::vector<std::string> env;                  // NAME=value added to the clean environment
  bool sandbox = true;                           // use bubblewrap where it works
  bool seccomp = true;
  // false: the worker's system-call filter traps any new thread (`--no-threads`), for tasks
  // whose policy forbids threads. kforge's native CPU worker only: the CUDA worker accepts and
  // ignores it (the driver starts threads), the PyTorch bridge does not know the argument.
  bool threads = true;
  // What of the host's files bubblewrap shows besides the system directories, the worker
  // binary, read_only and scratch (sandbox.h): kAuto hides the rest for kforge's own workers
  // (kforge-*-worker without a prefix) and shows all of / read-only for anything else (the
  // PyTorch bridge's interpreter and packages, a profiler), which kSystem and kHost override.
  enum class View { kAuto, kSystem, kHost };
  View view = View::kAuto;
  ResourceLimits limits{4ull << 30, 64ull << 20, 256};
  double start_timeout_s = 20;
};

struct Reply {
  enum class Kind { kOk, kError, kTimeout, kDied, kViolation };
  Kind kind = Kind::kOk;
  nlohmann::json body;  // kOk and kError: the worker's reply
  std::string message;  // kError: the worker's error; kDied: how it died; kViolation: the call
  ExitInfo exit;        // kDied
  double seconds = 0;   // round trip
  bool ok() const { return kind == Kind::kOk; }
};

class Worker {
 public:
  // A shared arena: the memory file, its mapping in this process, and its size.
  struct Arena {
    int fd = -1;
    unsigned char* data = nullptr;
    size_t size = 0;
  };

  // Starts a worker; with `arena_fd`, on (a duplicate of) the memory file of an arena that an
  // ended worker left (Detach), which it maps once Adopt gives it over.
  static Result<std::unique_ptr<Worker>> Start(const WorkerConfig& config, int index,
                                               int arena_fd = -1);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Sends one request and waits for its reply for at most timeout_s. On a timeout, death or a
  // sandbox violation the worker is killed and stays dead.
  Reply Request(const nlohmann::json& request, double timeout_s);

  // Closes the request channel and waits up to timeout_s for the worker (and whatever runs it)
  // to exit on its own, then kills it. For a profiler that writes its report at exit.
  void Finish(double timeout_s);
  const std::filesystem::path& scratch() const { return scratch_; }

  // Grows the shared arena to at least `bytes` and has the worker map it.
  Status EnsureArena(size_t bytes);
  unsigned char* arena() const { return arena_; }
  // Gives the memory of [offset, offset + bytes) back to the system (it reads as zeros after).
  void ReleaseArena(size_t offset, size_t bytes);
  size_t arena_size() const { return arena_size_; }

  // What the worker (the candidate) printed since the last call, at most max_bytes (the tail).
  std::string TakeOutput(size_t max_bytes = 4096);

  // Stops (SIGSTOP) or resumes (SIGCONT) the worker's whole process group: a worker that is not
  // being timed or asked must not run (a thread it left behind would steal the cores another
  // program is timed on, or do work outside the clock). Request resumes a paused worker first.
  void Pause();
  void Resume();

  // Kills the worker (SIGKILL; the destructor reaps it) and hands over its arena, where it can
  // be trusted not to outlive the worker: a worker in its own PID namespace (bubblewrap) takes
  // every process it started with it, and is gone once reaped. The caller wipes the arena after
  // that, before another worker maps it. Otherwise nothing: the arena goes with the worker.
  std::optional<Arena> Detach();
  // Makes `arena` (wiped; this worker was started on its file) this worker's, mapped on both
  // sides, every page at once up to kKeepPagesLimit.
  Status Adopt(Arena arena);
  // Unmaps and closes an arena nobody adopted.
  static void Release(Arena& arena);
  // Zeros an arena: written over up to kKeepPagesLimit (its pages stay in place), given back to
  // the system beyond (a large arena is not kept resident between candidates).
  static void Wipe(Arena& arena);
  static constexpr size_t kKeepPagesLimit = size_t{1} << 30;

  bool alive() const { return pid_ > 0; }
  // "bwrap+seccomp", "seccomp", "bwrap" or "none", with the reason when not fully sandboxed.
  const std::string& sandbox() const { return sandbox_; }
  const std::string& sandbox_note() const { return sandbox_note_; }
  pid_t pid() const { return pid_; }
  // The worker's answer to hello: backend, cache size, device description.
  const nlohmann::json& hello() const { return hello_; }

 private:
  Worker() = default;
  void Kill();
  Reply Died(Reply r);

  pid_t pid_ = -1;
  bool paused_ = false;
  int request_fd_ = -1;
  int reply_fd_ = -1;
  int arena_fd_ = -1;
  int output_fd_ = -1;
  unsigned char* arena_ = nullptr;
  size_t arena_size_ = 0;
  std::filesystem::path scratch_;
  std::string buffer_;
  off_t output_read_ = 0;
  bool bwrap_ = false;
  std::string sandbox_;
  std::string sandbox_note_;
  ExitInfo exit_;
  nlohmann::json hello_;
};

}  // namespace kf::eval
