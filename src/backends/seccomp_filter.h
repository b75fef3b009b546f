// The system-call filter a worker installs on itself before it loads any candidate code.
//
// Three profiles, from tightest to loosest:
// - kAllowList (CPU workers): only the calls a kernel and the worker need are allowed (memory,
//   reading files, futexes, threads where the task allows them, clocks, its own signals);
//   everything else, including calls this file has never heard of, traps. Within the allowed
//   calls, arguments are checked too: no files opened for writing, no executable anonymous
//   memory, no mprotect to executable, no signals to other processes, no taking SIGSYS away.
// - kDenyStrict (the PyTorch bridge once a candidate is loaded): a deny-list of what a kernel
//   never needs (network, new processes, exec, other processes' memory and signals, io_uring,
//   SysV shared memory, keyrings, namespaces, READ_IMPLIES_EXEC) plus the file-write and
//   executable-memory rules. Python and torch make too many calls for an allow-list kept by hand.
// - kDenyList (GPU workers): the same deny-list without the file-write and executable-memory
//   rules (a GPU driver needs both, so GPU workers rely on bubblewrap's read-only view for files).
// In every profile, `threads = false` makes any clone and any mmap of a thread stack (MAP_STACK)
// trap (the task forbids threads), and clone3 fails with ENOSYS (its flags live in memory the
// filter cannot read; glibc then uses clone).
//
// A trapped call raises SIGSYS; the worker's handler reports the call's name on the result channel
// as {"ok":false,"violation":"<name>"} and exits, so the orchestrator gives the verdict
// `sandbox_violation` naming it. The filter cannot be removed once installed.
#pragma once

namespace kf::worker {

enum class FilterProfile { kAllowList, kDenyStrict, kDenyList };

struct FilterOptions {
  FilterProfile profile = FilterProfile::kAllowList;
  bool threads = true;  // false: creating a thread traps too
};

// Installs the SIGSYS reporter (writing to result_fd) and the filter. Returns false with errno
// set where the kernel refuses seccomp; the caller then runs without it and says so.
bool InstallSeccompFilter(int result_fd, const FilterOptions& options);

// The name the reporter gives a system call ("system call 425" for one it has no name for),
// written into buf (NUL-terminated, truncated to size). Async-signal-safe. For tests and reports.
void SyscallName(long nr, char* buf, unsigned size);

}  // namespace kf::worker
