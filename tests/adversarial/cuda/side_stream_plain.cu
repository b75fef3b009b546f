// expect: static_violation
// task: tasks/cuda/softmax_rows
// rule: streams
// trick: splits the rows over two streams of its own "for concurrency" and returns without
// waiting for them: the work runs outside the harness's stream, where its events do not see it.
// Rule 18: creating streams is forbidden (`streams`); the harness's device-wide synchronisation
// and wall-clock cross-check (side_stream_evasion) are the runtime defence.
#include <cuda_runtime.h>

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

cudaStream_t g_streams[2] = {nullptr, nullptr};

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  (void)stream;
  if (rows <= 0 || cols <= 0) return;
  if (!g_streams[0]) {
    cudaStreamCreateWithFlags(&g_streams[0], cudaStreamNonBlocking);
    cudaStreamCreateWithFlags(&g_streams[1], cudaStreamNonBlocking);
  }
  const int64_t half = (rows + 1) / 2;
  for (int k = 0; k < 2; ++k) {
    const int64_t first = k * half;
    const int64_t n = (k == 0 ? half : rows - half);
    if (n <= 0) continue;
    const unsigned grid = (unsigned)(n < (1 << 20) ? n : (1 << 20));
    softmax_kernel<<<grid, kThreads, 0, g_streams[k]>>>(x + first * cols, y + first * cols, n,
                                                        cols);
  }
}
