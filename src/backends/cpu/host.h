// The CPU backend: C and C++ programs built by the system compiler into shared objects, run by
// kforge-cpu-worker (worker_main.cc) on the host's cores. See backends/backend.h.
#pragma once

#include <string>

#include "backends/backend.h"

namespace kf::backends::cpu {

const Backend& Host();

// The CPU's model name from /proc/cpuinfo, part of the ceilings cache key.
std::string CpuModelName();

}  // namespace kf::backends::cpu
