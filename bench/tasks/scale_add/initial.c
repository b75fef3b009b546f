// Baseline for scale_add: a plain loop, strided so the compiler cannot vectorize it well.
#include <stdint.h>
void scale_add(const float* x, const float* b, float* y, int64_t n) {
  for (int64_t start = 0; start < 4; ++start) {
    for (int64_t i = start; i < n; i += 4) y[i] = 2.0f * x[i] + b[i];
  }
}
