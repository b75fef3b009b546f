// expect: ok
// task: tasks/cuda/softmax_rows
// good_speedup_within: 0.5
// today: not run here (no GPU); the CPU form's good follow-up crashes with SIGFPE
// trick: state left for the next candidate, CUDA form (tb_fpu_state.c). A correct
// block-per-row softmax whose host entry, on the way out of every call, unmasks the host's
// floating-point exceptions (feenableexcept; masked again on entry, so its own host code
// never traps) and on its first call allocates all but 256 MiB of the device's free memory
// and never frees it. The next candidate judged in the same worker inherits both: host code
// of its own that underflows raises SIGFPE, and any scratch allocation of its own fails
// (cudaErrorMemoryAllocation, a runtime error it did not cause). Stopped by a fresh worker
// (and CUDA context) per candidate, or FP state and device memory verified before each.
#include <cuda_runtime.h>
#include <fenv.h>

#include <cstdint>

namespace {

constexpr int kThreads = 256;

__device__ float block_max(float v, float* sh) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < kThreads / 32 ? sh[threadIdx.x & 31] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ float block_sum(float v, float* sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < kThreads / 32 ? sh[threadIdx.x & 31] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void __launch_bounds__(kThreads)
    softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t cols) {
  __shared__ float sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = fmaxf(m, xr[c]);
    m = block_max(m, sh);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += expf(xr[c] - m);
    s = block_sum(s, sh);
    const float inv = 1.0f / s;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c] - m) * inv;
  }
}

void launch_softmax(const float* x, float* y, int64_t rows, int64_t cols, cudaStream_t stream) {
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, kThreads, 0, stream>>>(x, y, rows, cols);
}

void* g_hog = nullptr;

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  fedisableexcept(FE_ALL_EXCEPT);
  if (!g_hog) {
    size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) == cudaSuccess && free_bytes > (size_t{512} << 20)) {
      if (cudaMalloc(&g_hog, free_bytes - (size_t{256} << 20)) != cudaSuccess) g_hog = nullptr;
    }
    cudaGetLastError();
  }
  if (rows > 0 && cols > 0) launch_softmax(x, y, rows, cols, stream);
  feclearexcept(FE_ALL_EXCEPT);
  feenableexcept(FE_UNDERFLOW | FE_OVERFLOW | FE_DIVBYZERO | FE_INVALID);
}
