// Initial (naive) CUDA softmax_rows: correct but slow. One thread per row:
// neighbouring threads read addresses a whole row apart (no coalescing), each
// thread walks its row three times (max, sum of exp, exp / sum) with a serial
// float accumulator, and exp is evaluated twice per element.
#include <cuda_runtime.h>

#include <cstdint>

__global__ void softmax_rows_naive(const float* x, float* y, int64_t rows, int64_t cols) {
  const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* xr = x + r * cols;
  float* yr = y + r * cols;
  float m = xr[0];
  for (int64_t c = 1; c < cols; c++)
    if (xr[c] > m) m = xr[c];
  float sum = 0.0f;
  for (int64_t c = 0; c < cols; c++) sum += expf(xr[c] - m);
  for (int64_t c = 0; c < cols; c++) yr[c] = expf(xr[c] - m) / sum;
}

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const int block = 128;
  const int64_t grid = (rows + block - 1) / block;
  softmax_rows_naive<<<(unsigned)grid, block, 0, stream>>>(x, y, rows, cols);
}
