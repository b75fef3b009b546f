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

struct CpuCeilings {
  double copy_gbps = 0;            // DRAM copy bandwidth, read + write
  double fma_gflops_per_core = 0;  // single-core FMA rate, widest vector width
  int cores = 1;
};

// Reads the cached ceilings for this CPU, or calls measure (which asks a worker) and caches them.
// With remeasure, measures again and keeps the higher of the cached and new figures: a busy
// machine measures low, and a low ceiling would make honest candidates look impossible.
Result<CpuCeilings> LoadOrMeasureCeilings(const std::filesystem::path& cache_dir,
                                          const std::function<Result<nlohmann::json>()>& measure,
                                          bool remeasure = false);

}  // namespace kf::eval
