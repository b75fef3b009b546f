/* Initial (naive) layer_norm: correct but slow. Each row is summed with a
 * single serial accumulator (a long dependency chain that cannot vectorize;
 * in double, since a serial float sum of a row with a mean drifts past the
 * tolerance), and every output element recomputes sqrtf and divides. */
#include <math.h>
#include <stdint.h>

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
                int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    double sum = 0.0;
    for (int64_t c = 0; c < cols; c++) sum += x[r * cols + c];
    float mean = sum / cols;
    float sq = 0.0f;
    for (int64_t c = 0; c < cols; c++) sq += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    float var = sq / cols;
    for (int64_t c = 0; c < cols; c++)
      y[r * cols + c] = (x[r * cols + c] - mean) / sqrtf(var + 1e-5f) * gamma[c] + beta[c];
  }
}
