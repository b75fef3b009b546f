/* Reference for stencil2d: one 5-point Jacobi sweep in double precision;
 * boundary points are copied (reference ABI: f32 buffers arrive as double). */
#include <stdint.h>

void stencil2d(const double* x, double* y, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) {
      int64_t p = i * cols + j;
      if (i == 0 || j == 0 || i == rows - 1 || j == cols - 1)
        y[p] = x[p];
      else
        y[p] = 0.2 * (x[p] + x[p - cols] + x[p + cols] + x[p + 1] + x[p - 1]);
    }
}
