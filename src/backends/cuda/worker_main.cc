// kforge-cuda-worker: runs untrusted CUDA candidates on one GPU for the orchestrator.
//
// Same descriptors and protocol as the CPU worker (backends/worker_common.h). The host arena
// (fd 5) is mirrored by a device arena of the same size: `call` copies the request's span of the
// host arena to the device, calls the entry with device pointers and the worker's stream,
// synchronises the whole device, checks for errors, and copies the span back. `time` copies the
// span once, then before every timed call flushes the L2 (a write over twice its size) and resets
// persisting-L2 lines; it times with events on the stream and with the host clock around a
// device-wide synchronisation, so work on other streams cannot hide. A sticky device error is
// reported with its CUDA name and ends the worker (its context is unusable).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "backends/seccomp_filter.h"
#include "backends/worker_common.h"

namespace {

using kf::worker::json;

struct State {
  int device = 0;
  cudaDeviceProp props{};
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  unsigned char* host = nullptr;  // the shared arena
  unsigned char* device_arena = nullptr;
  size_t size = 0;
  void* flush = nullptr;  // twice the L2
  size_t flush_bytes = 0;
} g;

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
  if (g.host) munmap(g.host, g.size);
  if (g.device_arena) cudaFree(g.device_arena);
  g.host = nullptr;
  g.device_arena = nullptr;
  g.size = 0;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, kf::worker::kArenaFd, 0);
  if (p == MAP_FAILED)
    return {{"ok", false}, {"error", std::string("mmap arena: ") + strerror(errno)}};
  g.host = static_cast<unsigned char*>(p);
  KF_CUDA(cudaMalloc(&g.device_arena, size), "allocating the device arena");
  g.size = size;
  return {{"ok", true}};
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
  kf::worker::Call c;
  if (auto err = kf::worker::ParseCall(req, g.device_arena, g.size,
                                       {reinterpret_cast<intptr_t>(g.stream)}, &c);
      !err.empty()) {
    return {{"ok", false}, {"error", err}};
  }
  size_t off, bytes;
  if (!Span(req, &off, &bytes)) return {{"ok", false}, {"error", "span outside the arena"}};
  KF_CUDA(cudaMemcpy(g.device_arena + off, g.host + off, bytes, cudaMemcpyHostToDevice),
          "copying inputs");
  KF_CUDA(cudaDeviceSynchronize(), "before the call");
  const double t0 = kf::worker::NowNs();
  kf::worker::Invoke(c, 0);
  if (json e = Synchronise("the program"); !e.is_null()) return e;
  const double ns = kf::worker::NowNs() - t0;
  KF_CUDA(cudaMemcpy(g.host + off, g.device_arena + off, bytes, cudaMemcpyDeviceToHost),
          "copying outputs");
  return {{"ok", true}, {"ns", ns}};
}

json DoTime(const json& req) {
  kf::worker::Call c;
  if (auto err = kf::worker::ParseCall(req, g.device_arena, g.size,
                                       {reinterpret_cast<intptr_t>(g.stream)}, &c);
      !err.empty()) {
    return {{"ok", false}, {"error", err}};
  }
  size_t off, bytes;
  if (!Span(req, &off, &bytes)) return {{"ok", false}, {"error", "span outside the arena"}};
  KF_CUDA(cudaMemcpy(g.device_arena + off, g.host + off, bytes, cudaMemcpyHostToDevice),
          "copying inputs");
  cudaError_t failure = cudaSuccess;
  json reply =
      kf::worker::TimeLoop(req, c.sets.size(), [&](size_t set) -> std::pair<double, double> {
        if (failure != cudaSuccess) return {0, 0};
        cudaCtxResetPersistingL2Cache();
        cudaMemsetAsync(g.flush, static_cast<int>(set & 0xff), g.flush_bytes, g.stream);
        cudaDeviceSynchronize();
        const double t0 = kf::worker::NowNs();
        cudaEventRecord(g.start, g.stream);
        kf::worker::Invoke(c, set);
        cudaEventRecord(g.stop, g.stream);
        failure = cudaDeviceSynchronize();
        const double wall = kf::worker::NowNs() - t0;
        if (failure == cudaSuccess) failure = cudaGetLastError();
        float ms = 0;
        if (failure == cudaSuccess) failure = cudaEventElapsedTime(&ms, g.start, g.stop);
        return {static_cast<double>(ms) * 1e6, wall};
      });
  if (failure != cudaSuccess) return CudaError(failure, "while timing the program");
  return reply;
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

  // Matrix rates through cuBLAS: fp32 (no TF32) and bf16 with fp32 accumulation, 8192^3.
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
  }
  // Everything the driver opens is opened before the filter goes on.
  std::string init_error;
  cudaError_t e = cudaSetDevice(g.device);
  if (e == cudaSuccess) e = cudaFree(nullptr);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&g.props, g.device);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&g.stream, cudaStreamNonBlocking);
  if (e == cudaSuccess) e = cudaEventCreate(&g.start);
  if (e == cudaSuccess) e = cudaEventCreate(&g.stop);
  if (e == cudaSuccess) {
    g.flush_bytes = std::max<size_t>(2 * static_cast<size_t>(g.props.l2CacheSize), 8u << 20);
    e = cudaMalloc(&g.flush, g.flush_bytes);
  }
  if (e == cudaSuccess) e = cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 0);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (e != cudaSuccess)
    init_error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
  const bool filtered =
      want_filter && kf::worker::InstallSeccompFilter(kf::worker::kReplyFd, false);
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
                {"memory_bytes", g.props.totalGlobalMem}}}};
    }
    if (op == "map") return DoMap(req);
    if (op == "call") return DoCall(req);
    if (op == "time") return DoTime(req);
    if (op == "ceilings") return DoCeilings();
    return nullptr;
  });
}
