/* Reference for bias_gelu: y = gelu_tanh(x + bias[col]) in double precision,
 * gelu_tanh(v) = 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3)))
 * (reference ABI: the f32 buffers arrive as double). */
#include <math.h>
#include <stdint.h>

void bias_gelu(const double* x, const double* bias, double* y, int64_t rows, int64_t cols) {
  const double k = 0.7978845608028654; /* sqrt(2 / pi) */
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      const double v = x[r * cols + c] + bias[c];
      y[r * cols + c] = 0.5 * v * (1.0 + tanh(k * (v + 0.044715 * v * v * v)));
    }
}
