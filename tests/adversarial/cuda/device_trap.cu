// expect: runtime_error
// task: tasks/cuda/softmax_rows
// detail: cudaError
// trick: a single-read softmax that stages each row in 16 KiB of shared memory, so it only
// handles rows of up to 4096 columns; on a wider row its guard calls __trap() (a device-side
// abort) instead of falling back. Right on every check shape up to 4096 columns; the first
// wider one kills the kernel and, with it, the CUDA context.
// What stops it: the harness's synchronisation sees the sticky launch failure, reports the CUDA
// error by name as a runtime error and replaces the worker.
#include <cuda_runtime.h>

#include <cstdint>

namespace {

constexpr int kThreads = 256;
constexpr int kMaxCols = 4096;

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
  __shared__ float row[kMaxCols];
  __shared__ float sh[32];
  if (cols > kMaxCols) __trap();  // "cannot happen"
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
      row[c] = xr[c];
      m = fmaxf(m, row[c]);
    }
    m = block_max(m, sh);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += expf(row[c] - m);
    s = block_sum(s, sh);
    const float inv = 1.0f / s;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(row[c] - m) * inv;
    __syncthreads();  // row[] is rewritten for the next row
  }
}

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, kThreads, 0, stream>>>(x, y, rows, cols);
}
