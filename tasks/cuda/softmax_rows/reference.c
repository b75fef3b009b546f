/* Reference for softmax_rows: plain double-precision softmax of each row
 * (reference ABI: the f32 buffers arrive as double). */
#include <math.h>
#include <stdint.h>

void softmax_rows(const double* x, double* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const double* xr = x + r * cols;
    double* yr = y + r * cols;
    double m = xr[0];
    for (int64_t c = 1; c < cols; c++)
      if (xr[c] > m) m = xr[c];
    double sum = 0.0;
    for (int64_t c = 0; c < cols; c++) {
      yr[c] = exp(xr[c] - m);
      sum += yr[c];
    }
    for (int64_t c = 0; c < cols; c++) yr[c] /= sum;
  }
}
