/* Reference for layer_norm: two-pass mean and biased variance per row in
 * double precision, eps = 1e-5 (reference ABI: f32 buffers arrive as double). */
#include <math.h>
#include <stdint.h>

void layer_norm(const double* x, const double* gamma, const double* beta, double* y, int64_t rows,
                int64_t cols) {
  const double eps = 1e-5;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const double* xr = x + r * cols;
    double* yr = y + r * cols;
    double mean = 0.0;
    for (int64_t c = 0; c < cols; c++) mean += xr[c];
    mean /= (double)cols;
    double var = 0.0;
    for (int64_t c = 0; c < cols; c++) var += (xr[c] - mean) * (xr[c] - mean);
    var /= (double)cols;
    double inv = 1.0 / sqrt(var + eps);
    for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mean) * inv * gamma[c] + beta[c];
  }
}
