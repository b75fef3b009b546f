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

// The GPUs a worker can use, as `--device` ordinals 0..n-1: the entries of CUDA_VISIBLE_DEVICES
// when it is set (workers get it too), else one per /dev/nvidiaN node. 0 on a host without any.
int VisibleGpuCount();

// The NVIDIA device nodes a GPU worker's sandbox binds in: control, UVM and every GPU's node.
std::vector<std::string> GpuDeviceNodes();

struct Ceilings {
  double copy_gbps = 0;        // memory bandwidth, bytes read + written (see ceilings.cc)
  double gflops_per_unit = 0;  // CPU: one core's FMA rate; GPU: the best cuBLAS matrix rate
  double fp32_gflops = 0;      // GPU: cuBLAS SGEMM's rate, the limit for fp32 arithmetic
  int cores = 1;               // units the task may use at once (CPU cores; 1 for a GPU)
};

// Reads the cached ceilings for this CPU, or calls measure (which asks a worker) and caches them.
// With remeasure, measures again and keeps the higher of the cached and new figures: a busy
// machine measures low, and a low ceiling would make honest candidates look impossible.
Result<Ceilings> LoadOrMeasureCeilings(const std::filesystem::path& cache_dir,
                                       const std::function<Result<nlohmann::json>()>& measure,
                                       bool remeasure = false);

}  // namespace kf::eval
