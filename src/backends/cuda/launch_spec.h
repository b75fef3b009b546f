// Launch declarations of kernel-only CUDA candidates: programs without host code, compiled by
// NVRTC, whose kernels kforge launches itself. Each kernel to launch is declared on a comment line
//
//   // kforge-launch: kernel=NAME grid=EXPR[,EXPR[,EXPR]] block=EXPR[,EXPR[,EXPR]] [shared=EXPR]
//
// NAME is a kernel or a template instance (`rows_kernel<256>`); the expressions use the task's
// size params (integer arithmetic as in task files, `/` truncating) and contain no spaces. The
// kernels run in the order declared, on the harness's stream, each called with every input and
// output pointer and then every size param as int64_t, like the host entry of other candidates.
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kf::backends::cuda {

inline constexpr std::string_view kLaunchMarker = "kforge-launch:";

struct LaunchSpec {
  std::string kernel;              // name expression, as NVRTC takes it
  std::vector<std::string> grid;   // 1 to 3 expressions (x, y, z)
  std::vector<std::string> block;  // 1 to 3 expressions
  std::string shared = "0";        // dynamic shared memory, bytes
  int line = 0;                    // 1-based line of the declaration
};

// True when `source` declares at least one launch: it is a kernel-only program.
bool IsKernelOnly(std::string_view source);

// Reads every declaration. Errors name the line and what is wrong with it. `params`, when not
// empty, are the only symbols the expressions may use.
Result<std::vector<LaunchSpec>> ParseLaunchSpecs(std::string_view source,
                                                 const std::vector<std::string>& params = {});

// The launches at one set of sizes: [{kernel, grid:[x,y,z], block:[x,y,z], shared}]. Errors (a
// division by zero, a dimension below 1 or beyond CUDA's limits) name the kernel and the sizes.
Result<nlohmann::json> EvaluateLaunches(const std::vector<LaunchSpec>& specs,
                                        const std::map<std::string, int64_t>& sizes);

}  // namespace kf::backends::cuda
