// expect: runtime_error
// task: tasks/cuda/softmax_rows
// detail: cudaErrorInvalid
// trick: one block per row with one thread per column, rounded up to a power of two and capped
// at 2048 threads, one more than a block may have (1024). Right on every row up to 1024 wide;
// from 1025 columns on the launch fails, and since the program never checks, it returns as if
// it had worked (and a harness that only reads the output would see stale or poisoned data).
// What stops it: the harness checks cudaGetLastError after the entry returns and reports the
// launch failure by its CUDA name (a non-sticky error: the worker may stay). CUDA 13 on an H100
// names it cudaErrorInvalidValue; older releases said cudaErrorInvalidConfiguration: the
// `detail` matches both.
#include <cuda_runtime.h>

#include <cstdint>

namespace {

constexpr int kMaxThreads = 2048;  // the bug: the hardware limit is 1024

__device__ float block_max(float v, float* sh) {
  const int nwarps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < nwarps ? sh[threadIdx.x & 31] : -INFINITY;
  if (nwarps > 32 && (threadIdx.x & 31) + 32 < nwarps) v = fmaxf(v, sh[(threadIdx.x & 31) + 32]);
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ float block_sum(float v, float* sh) {
  const int nwarps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < nwarps ? sh[threadIdx.x & 31] : 0.0f;
  if (nwarps > 32 && (threadIdx.x & 31) + 32 < nwarps) v += sh[(threadIdx.x & 31) + 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// blockDim.x is a power of two between 32 and kMaxThreads; columns beyond it are strided.
__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows,
                               int64_t cols) {
  __shared__ float sh[kMaxThreads / 32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, xr[c]);
    m = block_max(m, sh);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(xr[c] - m);
    s = block_sum(s, sh);
    const float inv = 1.0f / s;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = expf(xr[c] - m) * inv;
  }
}

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  int threads = 32;
  while (threads < cols && threads < kMaxThreads) threads *= 2;
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, threads, 0, stream>>>(x, y, rows, cols);
  // No cudaGetLastError(): a failed launch goes unnoticed here.
}
