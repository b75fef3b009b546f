// Facts about the host the CPU evaluator needs: the measured roofline ceilings, cached per CPU
// model under the cache directory so the measurement (about half a second) is paid once per
// machine.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "util/status.h"

namespace kf::eval {

std::string CpuModelName();

struct Ceilings {
  double copy_gbps = 0;        // DRAM copy bandwidth, read + write
  double gflops_per_unit = 0;  // CPU: one core's FMA rate; GPU: the best cuBLAS matrix rate
  int cores = 1;               // units the task may use at once (CPU cores; 1 for a GPU)
};

// Reads the cached ceilings for this CPU, or calls measure (which asks a worker) and caches them.
// With remeasure, measures again and keeps the higher of the cached and new figures: a busy
// machine measures low, and a low ceiling would make honest candidates look impossible.
Result<Ceilings> LoadOrMeasureCeilings(const std::filesystem::path& cache_dir,
                                       const std::function<Result<nlohmann::json>()>& measure,
                                       bool remeasure = false);

}  // namespace kf::eval
