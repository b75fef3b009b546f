// expect: runtime_error
// task: tasks/cuda/softmax_rows
// detail: cudaErrorIllegalAddress
// trick: a correct softmax that also stashes each row's maximum in a "scratch area" it assumes
// lies past the end of the output, 1 TiB beyond it (y[rows*cols + 2^38 + r]). Nothing is mapped
// at that address, so the store faults and the context is lost (a sticky
// cudaErrorIllegalAddress). The worker must report the CUDA error by name and be replaced so
// that the next candidate runs on a fresh context.
// Why 1 TiB: it lands above the 47-bit range where the process (and so CUDA's unified address
// space) maps anything. Nearer offsets were tried on an H100 (CUDA 13, driver 580): 64 and
// 256 MiB past the output hit memory the harness had mapped and faulted only in a later call
// or while timing; 4 GiB past raised cudaErrorInvalidAddressSpace (a generic address outside
// the global window); 64 GiB and 1 TiB past, 4 GiB before, and near-null raised
// cudaErrorIllegalAddress.
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
  float* scratch = y + rows * cols + ((int64_t)1 << 38);  // "past the end": 1 TiB past it
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = fmaxf(m, xr[c]);
    m = block_max(m, sh);
    if (threadIdx.x == 0) scratch[r] = m;
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += expf(xr[c] - m);
    s = block_sum(s, sh);
    const float inv = 1.0f / s;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c] - m) * inv;
  }
}

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, kThreads, 0, stream>>>(x, y, rows, cols);
}
