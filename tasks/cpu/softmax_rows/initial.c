/* Initial (naive) softmax_rows: correct but slow. For every row it finds the
 * maximum, sums exp(x - max), then calls exp again for every element and
 * divides -- nothing is cached and nothing vectorizes. */
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    float m = x[r * cols];
    for (int64_t c = 1; c < cols; c++)
      if (x[r * cols + c] > m) m = x[r * cols + c];
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; c++) sum += expf(x[r * cols + c] - m);
    for (int64_t c = 0; c < cols; c++) y[r * cols + c] = expf(x[r * cols + c] - m) / sum;
  }
}
