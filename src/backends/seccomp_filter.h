// The system-call filter a worker installs on itself before it loads any candidate code.
// It stops the tricks a kernel never needs: network sockets, new processes, exec, reading or
// writing other processes' memory, signalling other processes; with `strict` also writing or
// deleting files and making memory executable after load (a GPU driver needs both, so GPU
// workers rely on bubblewrap's read-only view for files instead). A blocked call raises SIGSYS; the
// worker's handler reports the call's name on the result channel and exits, so the orchestrator can
// give the verdict `sandbox_violation` naming it. The filter cannot be removed once installed.
#pragma once

namespace kf::worker {

// Installs the SIGSYS reporter (writing to result_fd) and the filter. Returns false with errno
// set where the kernel refuses seccomp; the caller then runs without it and says so.
bool InstallSeccompFilter(int result_fd, bool strict);

}  // namespace kf::worker
