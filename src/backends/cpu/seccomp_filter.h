// The system-call filter a CPU worker installs on itself before it loads any candidate code.
// It stops the tricks a kernel never needs: network sockets, new processes, exec, writing or
// deleting files, reading or writing other processes' memory, signalling other processes, and
// making memory executable after load. A blocked call raises SIGSYS; the worker's handler
// reports the call's name on the result channel and exits, so the orchestrator can give the
// verdict `sandbox_violation` naming it. The filter cannot be removed once installed.
#pragma once

namespace kf::cpu {

// Installs the SIGSYS reporter (writing to result_fd) and the filter. Returns false with errno
// set where the kernel refuses seccomp; the caller then runs without it and says so.
bool InstallSeccompFilter(int result_fd);

}  // namespace kf::cpu
