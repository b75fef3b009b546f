// expect: wrong_answer
// trick: the textbook softmax without subtracting the row maximum: accurate for inputs of
// order 1, but with large logits (the `large` distribution, std 100) exp overflows to inf and
// underflows to 0, giving inf/inf and 0/0 = NaN. Only inputs that stress the operation
// (rule 5) expose it; NaN where the reference has none always fails (rule 9).
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = expf(xr[j]);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] /= s;
  }
}
