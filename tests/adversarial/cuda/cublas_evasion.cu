// expect: compile_error
// task: tasks/cuda/softmax_rows
// trick: calls cuBLAS through token-pasted names and hand-written declarations (no header, no
// identifier starting with cublas), hoping the symbols bind to the worker's own libcublas at
// load. Candidates are linked with --no-undefined, so the link fails.
#include <cuda_runtime.h>

#include <cstdint>

#define KF_CAT(a, b) a##b
extern "C" {
int KF_CAT(cub, lasCreate_v2)(void** handle);
int KF_CAT(cub, lasSetStream_v2)(void* handle, cudaStream_t stream);
int KF_CAT(cub, lasSgemv_v2)(void* handle, int trans, int m, int n, const float* alpha,
                             const float* A, int lda, const float* x, int incx, const float* beta,
                             float* y, int incy);
}
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

// y = exp(x - rowmax), row by row.
__global__ void __launch_bounds__(kThreads)
    exp_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t cols) {
  __shared__ float sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = fmaxf(m, xr[c]);
    m = block_max(m, sh);
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c] - m);
  }
}

__global__ void scale_kernel(float* __restrict__ y, const float* __restrict__ sums, int64_t rows,
                             int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float inv = 1.0f / sums[r];
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) y[r * cols + c] *= inv;
  }
}

__global__ void fill_kernel(float* p, int64_t n, float v) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    p[i] = v;
}

float* g_ones = nullptr;
float* g_sums = nullptr;
int64_t g_ones_n = 0, g_sums_n = 0;

}  // namespace

namespace {
void* g_h = nullptr;
}

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  if (!g_h) KF_CAT(cub, lasCreate_v2)(&g_h);
  KF_CAT(cub, lasSetStream_v2)(g_h, stream);
  if (g_ones_n < cols) {
    cudaFree(g_ones);
    cudaMalloc(&g_ones, cols * sizeof(float));
    fill_kernel<<<64, 256, 0, stream>>>(g_ones, cols, 1.0f);
    g_ones_n = cols;
  }
  if (g_sums_n < rows) {
    cudaFree(g_sums);
    cudaMalloc(&g_sums, rows * sizeof(float));
    g_sums_n = rows;
  }
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  exp_kernel<<<grid, kThreads, 0, stream>>>(x, y, rows, cols);
  const float one = 1.0f, zero = 0.0f;
  KF_CAT(cub, lasSgemv_v2)
  (g_h, 1, (int)cols, (int)rows, &one, y, (int)cols, g_ones, 1, &zero, g_sums, 1);
  scale_kernel<<<grid, kThreads, 0, stream>>>(y, g_sums, rows, cols);
}
