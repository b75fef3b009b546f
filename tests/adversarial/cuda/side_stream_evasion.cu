// expect: ok
// task: tasks/cuda/softmax_rows
// max_speedup: 40
// trick: creates a stream of its own (the name is built by token pasting, so the static check's
// `streams` rule cannot see it), launches the real, correct kernel there and returns without
// waiting. Events on the harness's stream would bracket nothing: timed by them the call takes
// microseconds. What stops it (rules 13, 19): kforge times a batch of calls by its own clock
// around a request that ends with a device-wide synchronisation, so the work on any stream is
// counted; the speedup stays the kernel's honest one (about 10x over the naive program).
#include <cuda_runtime.h>

#include <cstdint>

#define KF_CAT(a, b) a##b
#define KF_MAKE_STREAM KF_CAT(cudaStream, CreateWithFlags)

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

cudaStream_t g_side = nullptr;
bool g_tried = false;

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  if (!g_tried) {
    g_tried = true;
    if (KF_MAKE_STREAM(&g_side, cudaStreamNonBlocking) != cudaSuccess) g_side = nullptr;
  }
  // The harness's stream is ignored: nothing orders this launch with its events.
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, kThreads, 0, g_side ? g_side : stream>>>(x, y, rows, cols);
}
