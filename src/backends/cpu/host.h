// The CPU backend: C and C++ programs built by the system compiler into shared objects, run by
// kforge-cpu-worker (worker_main.cc) on the host's cores. See backends/backend.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "backends/backend.h"

namespace kf::backends::cpu {

const Backend& Host();

// The CPU's model name from /proc/cpuinfo, part of the ceilings cache key.
std::string CpuModelName();

// The host's CPU as a kernel engineer would want it described: {"model", "logical_cpus",
// "isa": the vector and arithmetic extensions among its flags (sse4_2, avx2, fma, avx512f, ...,
// asimd, sve on Arm), "caches": [{"level", "type", "bytes", "shared_by"}]} from /proc/cpuinfo and
// /sys. Read once per process.
nlohmann::json CpuFacts();

}  // namespace kf::backends::cpu
