// Nsight Compute on request: the command that runs a CUDA worker under `ncu` (clocks as they
// are, only the kernels inside the worker's "kforge_call" NVTX range, that is the candidate's
// own, each profiled once with caches flushed), and the reading of its CSV report into a short
// summary per kernel: duration, DRAM and SM throughput as shares of peak, achieved occupancy,
// registers, grid and block. Pure functions; thread-safe.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace kf::backends::cuda {

// $KFORGE_NCU, else ncu beside nvcc in /usr/local/cuda/bin, else ncu on PATH; empty when none.
std::filesystem::path FindNcu();

// The argv prefix that runs a worker under ncu, its CSV report going to `report` (a path the
// worker's sandbox can write).
std::vector<std::string> NcuPrefix(const std::filesystem::path& ncu,
                                   const std::filesystem::path& report);

// Reads ncu's `--csv --page raw` output: {"kernels": [{name, gpu_time_us, dram_pct, sm_pct,
// occupancy_pct, registers, grid, block, dram_bytes}], "gpu_time_us": sum over kernels}. Lines
// ncu prints around the table (==PROF== ...) are skipped. An error when no kernel row is there.
Result<nlohmann::json> ParseNcuCsv(const std::string& text);

}  // namespace kf::backends::cuda
