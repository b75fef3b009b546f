// The CUDA backend: CUDA programs with host code built by nvcc into shared objects, kernel-only
// programs (launch_spec.h) by NVRTC into cubins, run by kforge-cuda-worker (worker_main.cc) on
// one GPU; feedback from ptxas, the disassembly (machine_code.h) and Nsight Compute (nsight.h).
// See backends/backend.h.
#pragma once

#include <string>
#include <vector>

#include "backends/backend.h"

namespace kf::backends::cuda {

const Backend& Host();

// The GPUs a worker can use, as `--device` ordinals 0..n-1: the entries of CUDA_VISIBLE_DEVICES
// when it is set (workers get it too), else one per /dev/nvidiaN node. 0 on a host without any.
int VisibleGpuCount();

// The NVIDIA device nodes a GPU worker's sandbox binds in: control, UVM and every GPU's node.
std::vector<std::string> GpuDeviceNodes();

}  // namespace kf::backends::cuda
