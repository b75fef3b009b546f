/* Reference for sum_rows: y[r] = sum over c of x[r][c], accumulated in double
 * precision (reference ABI: the f32 buffers arrive as double). */
#include <stdint.h>

void sum_rows(const double* x, double* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    double s = 0.0;
    for (int64_t c = 0; c < cols; c++) s += x[r * cols + c];
    y[r] = s;
  }
}
