// Initial (naive) CUDA layer_norm: correct but slow. One thread per row:
// neighbouring threads read addresses a whole row apart (no coalescing), the
// row is summed with one serial accumulator (double: a serial float sum of a
// row with a mean drifts past the tolerance), and every output element
// recomputes sqrtf and divides.
#include <cuda_runtime.h>

#include <cstdint>

__global__ void layer_norm_naive(const float* x, const float* gamma, const float* beta, float* y,
                                 int64_t rows, int64_t cols) {
  const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* xr = x + r * cols;
  float* yr = y + r * cols;
  double sum = 0.0;
  for (int64_t c = 0; c < cols; c++) sum += xr[c];
  const float mean = (float)(sum / cols);
  float sq = 0.0f;
  for (int64_t c = 0; c < cols; c++) sq += (xr[c] - mean) * (xr[c] - mean);
  const float var = sq / cols;
  for (int64_t c = 0; c < cols; c++)
    yr[c] = (xr[c] - mean) / sqrtf(var + 1e-5f) * gamma[c] + beta[c];
}

extern "C" void layer_norm(const float* x, const float* gamma, const float* beta, float* y,
                           int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const int block = 128;
  const int64_t grid = (rows + block - 1) / block;
  layer_norm_naive<<<(unsigned)grid, block, 0, stream>>>(x, gamma, beta, y, rows, cols);
}
