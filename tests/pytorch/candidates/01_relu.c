#include <stdint.h>

void forward(const float* x, float* out, int64_t batch_size, int64_t dim) {
  const int64_t n = batch_size * dim;
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
