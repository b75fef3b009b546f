// A plain, correct row-wise softmax: the known-good follow-up candidate that run_case.py
// evaluates after every adversarial case, to prove kforge and its workers are still healthy.
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      float e = expf(xr[j] - m);
      yr[j] = e;
      s += e;
    }
    double inv = 1.0 / s;
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] * inv);
  }
}
