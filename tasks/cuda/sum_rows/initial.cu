// Initial (naive) CUDA sum_rows: correct but slow. One thread per row with a
// single serial float accumulator: neighbouring threads read addresses a whole
// row apart (no coalescing) and only rows / 128 blocks are launched, too few
// to fill the GPU.
#include <cuda_runtime.h>

#include <cstdint>

__global__ void sum_rows_naive(const float* x, float* y, int64_t rows, int64_t cols) {
  const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  float s = 0.0f;
  for (int64_t c = 0; c < cols; c++) s += x[r * cols + c];
  y[r] = s;
}

extern "C" void sum_rows(const float* x, float* y, int64_t rows, int64_t cols,
                         cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const int block = 128;
  const int64_t grid = (rows + block - 1) / block;
  sum_rows_naive<<<(unsigned)grid, block, 0, stream>>>(x, y, rows, cols);
}
