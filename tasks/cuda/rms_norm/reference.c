/* Reference for rms_norm: y = x / sqrt(mean(x^2) + 1e-6) * gamma per row, in
 * double precision (reference ABI: the f32 buffers arrive as double). */
#include <math.h>
#include <stdint.h>

void rms_norm(const double* x, const double* gamma, double* y, int64_t rows, int64_t cols) {
  const double eps = 1e-6;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const double* xr = x + r * cols;
    double* yr = y + r * cols;
    double sq = 0.0;
    for (int64_t c = 0; c < cols; c++) sq += xr[c] * xr[c];
    const double rms = sqrt(sq / (double)cols + eps);
    for (int64_t c = 0; c < cols; c++) yr[c] = xr[c] / rms * gamma[c];
  }
}
