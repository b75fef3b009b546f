// expect: wrong_answer
// task: tasks/cuda/softmax_rows
// trick: memoizes on (input pointer, rows, cols): the first call computes and keeps a copy of
// the answer in a device buffer of its own; a later call on the same buffer at the same shape
// replays it with one device-to-device copy (faster than any kernel), whatever the buffer now
// holds. The output is poisoned before every call, so replaying is the only way to skip work.
// What stops it (rules 5 and 15): several trials per shape with fresh values written into the
// buffers the candidate has already seen, and a re-check on fresh inputs after timing.
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

// A small cache of answers, keyed by input pointer and shape.
struct Entry {
  const float* x = nullptr;
  int64_t rows = 0, cols = 0;
  float* answer = nullptr;  // device memory of the candidate's own
};
constexpr int kEntries = 8;
Entry g_cache[kEntries];
int g_next = 0;

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const size_t bytes = (size_t)rows * (size_t)cols * sizeof(float);
  for (const Entry& e : g_cache) {
    if (e.answer && e.x == x && e.rows == rows && e.cols == cols) {
      cudaMemcpyAsync(y, e.answer, bytes, cudaMemcpyDeviceToDevice, stream);
      return;
    }
  }
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, kThreads, 0, stream>>>(x, y, rows, cols);
  Entry& e = g_cache[g_next];
  g_next = (g_next + 1) % kEntries;
  if (e.answer) cudaFree(e.answer);
  e = Entry{};
  if (cudaMalloc(&e.answer, bytes) != cudaSuccess) {
    e.answer = nullptr;
    return;
  }
  cudaMemcpyAsync(e.answer, y, bytes, cudaMemcpyDeviceToDevice, stream);
  e.x = x;
  e.rows = rows;
  e.cols = cols;
}
