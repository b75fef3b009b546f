// kforge-cuda-worker: runs untrusted CUDA candidates on one GPU for the orchestrator.
//
// Same descriptors and protocol as the CPU worker (backends/worker_common.h). The host arena
// (fd 5) is mirrored by a device arena of the same size: `call` copies the request's span of the
// host arena to the device, calls the entry with device pointers and the worker's stream,
// synchronises the whole device, checks for errors, and copies the span back. For timing, `upload`
// puts the timed sets on the device once, `run` makes N calls rotating over them and synchronises
// the whole device (the orchestrator clocks the request: work on any stream counts), `download`
// brings them back and checks the guards. A sticky device error is reported with its CUDA name
// and ends the worker (its context is unusable).
//
// Two kinds of program: a shared object with a host entry point (`load`, from worker_common),
// and a cubin of kernel-only code (`load_cubin`) whose declared kernels the worker launches
// itself, so none of the candidate's code runs on the host. Guard zones before and after each
// call's span are filled with a pattern and checked afterwards: a write just outside the
// buffers is caught at once rather than corrupting memory a later call uses.
#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backends/seccomp_filter.h"
#include "backends/worker_common.h"

namespace {

using kf::worker::json;

struct State {
  int device = 0;
  cudaDeviceProp props{};
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  unsigned char* host = nullptr;          // the shared arena
  unsigned char* device_arena = nullptr;  // guard zone, arena, guard zone
  size_t size = 0;
  bool registered = false;                // the host arena is pinned for the device
  std::vector<unsigned char> guard_copy;  // host copy of a guard zone, for checking
  std::vector<unsigned char> guard_pattern;
} g;

constexpr size_t kGuardBytes = 4u << 20;
constexpr unsigned char kGuardByte = 0xA5;

// A kernel-only program: its kernels in launch order.
struct Cubin {
  CUmodule module = nullptr;
  std::vector<CUfunction> kernels;
  std::vector<std::string> names;
};
std::map<int, Cubin> g_cubins;
int g_next_cubin = 1 << 20;  // apart from worker_common's handles

// One launch of a kernel-only program, as the request gives it.
struct Launch {
  unsigned grid[3], block[3], shared;
};

// What a call runs: a host entry point (Invoke) or a kernel-only program's launches.
struct Program {
  kf::worker::Call call;
  const Cubin* cubin = nullptr;
  std::vector<Launch> launches;
};

// A failed CUDA call: the reply, and whether the context is lost.
json CudaError(cudaError_t e, const std::string& where) {
  const bool sticky = e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure ||
                      e == cudaErrorAssert || e == cudaErrorIllegalInstruction ||
                      e == cudaErrorMisalignedAddress || e == cudaErrorInvalidAddressSpace ||
                      e == cudaErrorInvalidPc || e == cudaErrorHardwareStackError ||
                      e == cudaErrorLaunchTimeout || e == cudaErrorECCUncorrectable ||
                      e == cudaErrorUnknown;
  return {
      {"ok", false},
      {"fatal", sticky},
      {"cuda_error", cudaGetErrorName(e)},
      {"error", std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ") " + where}};
}

#define KF_CUDA(call, where)                                \
  do {                                                      \
    const cudaError_t kf_e = (call);                        \
    if (kf_e != cudaSuccess) return CudaError(kf_e, where); \
  } while (0)

json DoMap(const json& req) {
  const size_t size = req.at("size").get<size_t>();
  if (g.host) {
    if (g.registered) cudaHostUnregister(g.host);
    munmap(g.host, g.size);
  }
  g.registered = false;
  if (g.device_arena) cudaFree(g.device_arena - kGuardBytes);
  g.host = nullptr;
  g.device_arena = nullptr;
  g.size = 0;
  const int populate = req.value("populate", false) ? MAP_POPULATE : 0;
  void* p =
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | populate, kf::worker::kArenaFd, 0);
  if (p == MAP_FAILED)
    return {{"ok", false}, {"error", std::string("mmap arena: ") + strerror(errno)}};
  g.host = static_cast<unsigned char*>(p);
  // Pinned, the arena copies to and from the device at full speed; pageable still works.
  g.registered = cudaHostRegister(g.host, size, cudaHostRegisterDefault) == cudaSuccess;
  cudaGetLastError();
  KF_CUDA(cudaMalloc(&g.device_arena, size + 2 * kGuardBytes), "allocating the device arena");
  g.device_arena += kGuardBytes;
  g.size = size;
  return {{"ok", true}};
}

// Fills the guard zones around [off, off + bytes): up to kGuardBytes on either side, whether that
// is padding or arena memory this call does not use (every call copies its own span anew).
json ArmGuards(size_t off, size_t bytes) {
  KF_CUDA(cudaMemset(g.device_arena - kGuardBytes + off, kGuardByte, kGuardBytes),
          "arming the guard zone");
  KF_CUDA(cudaMemset(g.device_arena + off + bytes, kGuardByte, kGuardBytes),
          "arming the guard zone");
  return nullptr;
}

json CheckGuards(size_t off, size_t bytes) {
  if (g.guard_pattern.empty()) {
    g.guard_copy.resize(kGuardBytes);
    g.guard_pattern.assign(kGuardBytes, kGuardByte);
  }
  for (int side = 0; side < 2; ++side) {
    const unsigned char* zone =
        side == 0 ? g.device_arena - kGuardBytes + off : g.device_arena + off + bytes;
    KF_CUDA(cudaMemcpy(g.guard_copy.data(), zone, kGuardBytes, cudaMemcpyDeviceToHost),
            "reading the guard zone");
    if (std::memcmp(g.guard_copy.data(), g.guard_pattern.data(), kGuardBytes) == 0) continue;
    size_t first = kGuardBytes, count = 0;
    for (size_t i = 0; i < kGuardBytes; ++i) {
      if (g.guard_copy[i] != kGuardByte) {
        if (first == kGuardBytes) first = i;
        ++count;
      }
    }
    if (count > 0) {
      const size_t distance = side == 0 ? kGuardBytes - first : first;
      return {{"ok", false},
              {"out_of_bounds", true},
              {"error", "the program wrote outside its buffers: " + std::to_string(count) +
                            " bytes changed within " + std::to_string(kGuardBytes >> 20) + " MiB " +
                            (side == 0 ? "before the first input" : "after the last output") +
                            ", the nearest " + std::to_string(distance) + " bytes " +
                            (side == 0 ? "before it" : "past it")}};
    }
  }
  return nullptr;
}

CUresult LaunchCubin(const Program& p, size_t set) {
  const auto& args = p.call.sets[set % p.call.sets.size()];
  void* params[32];
  for (size_t i = 0; i < args.size() && i < 32; ++i) params[i] = const_cast<intptr_t*>(&args[i]);
  for (size_t k = 0; k < p.launches.size(); ++k) {
    const Launch& l = p.launches[k];
    const CUresult r =
        cuLaunchKernel(p.cubin->kernels[k], l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1],
                       l.block[2], l.shared, reinterpret_cast<CUstream>(g.stream), params, nullptr);
    if (r != CUDA_SUCCESS) return r;
  }
  return CUDA_SUCCESS;
}

std::string DriverErrorName(CUresult r) {
  const char* name = nullptr;
  cuGetErrorName(r, &name);
  return name ? name : "CUDA_ERROR_" + std::to_string(static_cast<int>(r));
}

// Reads a call's program: the host entry, or the cubin with this call's launches.
std::string ParseProgram(const json& req, Program* p) {
  const int handle = req.value("handle", -1);
  auto it = g_cubins.find(handle);
  if (it == g_cubins.end()) {
    return kf::worker::ParseCall(req, g.device_arena, g.size,
                                 {reinterpret_cast<intptr_t>(g.stream)}, &p->call);
  }
  p->cubin = &it->second;
  if (auto e = kf::worker::ParseArgs(req, g.device_arena, g.size, {}, &p->call.sets); !e.empty())
    return e;
  const auto& launches = req.at("launches");
  if (launches.size() != p->cubin->kernels.size()) return "one launch per kernel expected";
  for (size_t k = 0; k < launches.size(); ++k) {
    const auto& j = launches[k];
    Launch l{};
    for (int d = 0; d < 3; ++d) {
      l.grid[d] = j.at("grid").at(d).get<unsigned>();
      l.block[d] = j.at("block").at(d).get<unsigned>();
    }
    l.shared = j.at("shared").get<unsigned>();
    if (l.shared > 48 * 1024) {
      const CUresult r =
          cuFuncSetAttribute(p->cubin->kernels[k], CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                             static_cast<int>(l.shared));
      if (r != CUDA_SUCCESS) {
        return "kernel " + p->cubin->names[k] + " cannot have " + std::to_string(l.shared) +
               " bytes of dynamic shared memory: " + DriverErrorName(r);
      }
    }
    p->launches.push_back(l);
  }
  return "";
}

// Runs one call of the program on buffer set `set`; a launch the driver refuses is an error
// (not sticky: the context survives a bad launch configuration).
std::string Run(const Program& p, size_t set) {
  if (!p.cubin) {
    kf::worker::Invoke(p.call, set);
    return "";
  }
  const CUresult r = LaunchCubin(p, set);
  if (r == CUDA_SUCCESS) return "";
  return "launching the declared kernels failed: " + DriverErrorName(r);
}

// {"op":"load_cubin","path","kernels":[lowered names in launch order],"arg_count"}: loads the
// module and checks that every kernel takes arg_count parameters of 8 bytes (pointers and
// int64_t sizes), the only arguments kforge passes.
json DoLoadCubin(const json& req) {
  const std::string path = req.at("path");
  const size_t arg_count = req.at("arg_count");
  Cubin c;
  CUresult r = cuModuleLoad(&c.module, path.c_str());
  if (r != CUDA_SUCCESS) {
    return {{"ok", false}, {"error", "cannot load the program's cubin: " + DriverErrorName(r)}};
  }
  for (const auto& k : req.at("kernels")) {
    const std::string name = k.at("lowered");
    const std::string shown = k.at("name");
    CUfunction f;
    r = cuModuleGetFunction(&f, c.module, name.c_str());
    if (r != CUDA_SUCCESS) {
      cuModuleUnload(c.module);
      return {{"ok", false},
              {"compile_error", true},
              {"error", "no kernel '" + shown + "' in the program: " + DriverErrorName(r)}};
    }
    size_t params = 0, offset = 0, bytes = 0;
    std::string sizes;
    while (cuFuncGetParamInfo(f, params, &offset, &bytes) == CUDA_SUCCESS) {
      sizes += (sizes.empty() ? "" : ", ") + std::to_string(bytes);
      if (bytes != 8) sizes += " (!)";
      ++params;
    }
    if (params != arg_count || sizes.find('!') != std::string::npos) {
      cuModuleUnload(c.module);
      return {{"ok", false},
              {"compile_error", true},
              {"error", "kernel '" + shown + "' takes " + std::to_string(params) +
                            " parameters of " + (sizes.empty() ? "no" : sizes) +
                            " bytes; kforge passes " + std::to_string(arg_count) +
                            " of 8 bytes each: every input and output pointer, then every size "
                            "param as int64_t (docs/tasks.md)"}};
    }
    c.kernels.push_back(f);
    c.names.push_back(shown);
  }
  const int handle = g_next_cubin++;
  g_cubins[handle] = std::move(c);
  return {{"ok", true}, {"handle", handle}};
}

// The [offset, bytes) range of the arena a request works on.
bool Span(const json& req, size_t* off, size_t* bytes) {
  const auto& s = req.at("span");
  *off = s.at(0).get<size_t>();
  *bytes = s.at(1).get<size_t>();
  return *off <= g.size && *bytes <= g.size - *off;
}

json Synchronise(const std::string& where) {
  KF_CUDA(cudaGetLastError(), "after launching " + where);
  KF_CUDA(cudaDeviceSynchronize(), "during " + where);
  return nullptr;
}

json DoCall(const json& req) {
  Program p;
  if (auto err = ParseProgram(req, &p); !err.empty()) return {{"ok", false}, {"error", err}};
  size_t off, bytes;
  if (!Span(req, &off, &bytes)) return {{"ok", false}, {"error", "span outside the arena"}};
  if (json e = ArmGuards(off, bytes); !e.is_null()) return e;
  KF_CUDA(cudaMemcpy(g.device_arena + off, g.host + off, bytes, cudaMemcpyHostToDevice),
          "copying inputs");
  KF_CUDA(cudaDeviceSynchronize(), "before the call");
  const double t0 = kf::worker::NowNs();
  nvtxRangePushA(
      "kforge_call");  // what Nsight Compute profiles, when asked (backends/cuda/nsight.h)
  const std::string launch_error = Run(p, 0);
  nvtxRangePop();
  if (json e = Synchronise("the program"); !e.is_null()) return e;
  if (!launch_error.empty()) return {{"ok", false}, {"error", launch_error}};
  const double ns = kf::worker::NowNs() - t0;
  KF_CUDA(cudaMemcpy(g.host + off, g.device_arena + off, bytes, cudaMemcpyDeviceToHost),
          "copying outputs");
  if (json e = CheckGuards(off, bytes); !e.is_null()) return e;
  return {{"ok", true}, {"ns", ns}};
}

// {"op":"upload","span"}: copies the span of the host arena to the device and arms its guards,
// outside any timed request.
json DoUpload(const json& req) {
  size_t off, bytes;
  if (!Span(req, &off, &bytes)) return {{"ok", false}, {"error", "span outside the arena"}};
  if (json e = ArmGuards(off, bytes); !e.is_null()) return e;
  KF_CUDA(cudaMemcpy(g.device_arena + off, g.host + off, bytes, cudaMemcpyHostToDevice),
          "copying inputs");
  KF_CUDA(cudaDeviceSynchronize(), "after copying inputs");
  return {{"ok", true}};
}

// {"op":"download","span"}: copies the span back to the host arena and checks its guards.
json DoDownload(const json& req) {
  size_t off, bytes;
  if (!Span(req, &off, &bytes)) return {{"ok", false}, {"error", "span outside the arena"}};
  KF_CUDA(cudaDeviceSynchronize(), "before copying outputs");
  KF_CUDA(cudaMemcpy(g.host + off, g.device_arena + off, bytes, cudaMemcpyDeviceToHost),
          "copying outputs");
  if (json e = CheckGuards(off, bytes); !e.is_null()) return e;
  return {{"ok", true}};
}

// {"op":"run", ..., "calls":N, "first":k}: N calls back to back on the device-resident sets
// (uploaded before), rotating from set k, then a device-wide synchronisation. The orchestrator
// times the request by its own clock (rotation through twice the L2 keeps the calls cold);
// "ns" is only cross-checked.
json DoRun(const json& req) {
  Program p;
  if (auto err = ParseProgram(req, &p); !err.empty()) return {{"ok", false}, {"error", err}};
  const size_t calls = req.at("calls").get<size_t>();
  const size_t first = req.value("first", size_t{0});
  const double t0 = kf::worker::NowNs();
  std::string launch_error;
  for (size_t i = 0; i < calls && launch_error.empty(); ++i) launch_error = Run(p, first + i);
  if (json e = Synchronise("the program"); !e.is_null()) return e;
  if (!launch_error.empty()) return {{"ok", false}, {"error", launch_error + " (while timing)"}};
  return {{"ok", true}, {"ns", kf::worker::NowNs() - t0}};
}

// Copy bandwidth (read + write) and matrix rates, measured once per worker on request.
json DoCeilings() {
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  KF_CUDA(cudaMalloc(&a, bytes), "ceilings");
  KF_CUDA(cudaMalloc(&b, bytes), "ceilings");
  cudaMemset(a, 1, bytes);
  float best_ms = 1e30f;
  for (int i = 0; i < 6; ++i) {
    cudaEventRecord(g.start, g.stream);
    cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, g.stream);
    cudaEventRecord(g.stop, g.stream);
    cudaEventSynchronize(g.stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, g.start, g.stop);
    if (i > 0 && ms < best_ms) best_ms = ms;
  }
  const double copy_gbps = 2.0 * static_cast<double>(bytes) / (best_ms * 1e-3) / 1e9;

  // Matrix rates through cuBLAS: fp32 (no TF32) and bf16 with fp32 accumulation, 8192^3. The
  // handle is made here, not at start: only a baseline worker measures, and a candidate's worker
  // starts faster without it.
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
    return {{"ok", false}, {"error", "cublasCreate failed"}};
  cublasSetStream(h, g.stream);
  const int n = 8192;
  const float alpha = 1, beta = 0;
  auto rate = [&](bool bf16) {
    float best = 1e30f;
    for (int i = 0; i < 4; ++i) {
      cudaEventRecord(g.start, g.stream);
      if (bf16) {
        cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, a,
                     CUDA_R_16BF, n, &beta, b, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT);
      } else {
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, static_cast<float*>(a), n,
                    static_cast<float*>(a), n, &beta, static_cast<float*>(b), n);
      }
      cudaEventRecord(g.stop, g.stream);
      cudaEventSynchronize(g.stop);
      float ms = 0;
      cudaEventElapsedTime(&ms, g.start, g.stop);
      if (i > 0 && ms < best) best = ms;
    }
    return 2.0 * n * double(n) * n / (best * 1e-3) / 1e9;
  };
  cudaMemset(a, 0x3c, bytes);  // finite values for either type, not zeros
  const double fp32 = rate(false);
  const double bf16 = rate(true);
  cublasDestroy(h);
  cudaFree(a);
  cudaFree(b);
  KF_CUDA(cudaGetLastError(), "measuring ceilings");
  return {{"ok", true},
          {"copy_gbps", copy_gbps},
          {"fp32_gemm_gflops", fp32},
          {"bf16_gemm_gflops", bf16}};
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  bool want_filter = true;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--no-seccomp") want_filter = false;
    if (std::string(argv[i]) == "--device" && i + 1 < argc) g.device = std::atoi(argv[++i]);
    // --no-threads is accepted and not enforced: the CUDA runtime starts threads of its own
    // (callbacks, the driver's event thread) whenever it likes, so the GPU filter cannot tell
    // them from a candidate's.
  }
  // Everything the driver opens is opened before the filter goes on.
  std::string init_error;
  cudaError_t e = cudaSetDevice(g.device);
  if (e == cudaSuccess) e = cudaFree(nullptr);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&g.props, g.device);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&g.stream, cudaStreamNonBlocking);
  if (e == cudaSuccess) e = cudaEventCreate(&g.start);
  if (e == cudaSuccess) e = cudaEventCreate(&g.stop);
  if (e == cudaSuccess) e = cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 0);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (e != cudaSuccess)
    init_error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
  const bool filtered =
      want_filter && kf::worker::InstallSeccompFilter(kf::worker::kReplyFd,
                                                      {kf::worker::FilterProfile::kDenyList, true});
  return kf::worker::Serve([&](const std::string& op, const json& req) -> json {
    if (op == "hello") {
      if (!init_error.empty()) return {{"ok", false}, {"error", "no usable GPU: " + init_error}};
      return {{"ok", true},
              {"protocol", kf::worker::kProtocolVersion},
              {"pid", getpid()},
              {"seccomp", filtered},
              {"backend", "cuda"},
              {"cache_bytes", g.props.l2CacheSize},
              {"device",
               {{"name", g.props.name},
                {"index", g.device},
                {"sm_count", g.props.multiProcessorCount},
                {"l2_bytes", g.props.l2CacheSize},
                {"compute_capability",
                 std::to_string(g.props.major) + "." + std::to_string(g.props.minor)},
                {"memory_bytes", g.props.totalGlobalMem},
                {"shared_memory_per_sm", g.props.sharedMemPerMultiprocessor},
                {"shared_memory_per_block_optin", g.props.sharedMemPerBlockOptin},
                {"registers_per_sm", g.props.regsPerMultiprocessor},
                {"max_threads_per_sm", g.props.maxThreadsPerMultiProcessor},
                {"warp_size", g.props.warpSize}}}};
    }
    if (op == "map") return DoMap(req);
    if (op == "load_cubin") return DoLoadCubin(req);
    if (op == "call") return DoCall(req);
    if (op == "upload") return DoUpload(req);
    if (op == "download") return DoDownload(req);
    if (op == "run") return DoRun(req);
    if (op == "ceilings") return DoCeilings();
    return nullptr;
  });
}
