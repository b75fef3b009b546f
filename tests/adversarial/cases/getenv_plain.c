// expect: static_violation
// rule: environment
// trick: reads a tuning knob from the environment with getenv (the environment can hold the
// harness's secrets and can reveal whether the call is being checked or timed).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  const char* knob = getenv("SOFTMAX_UNROLL");
  int unroll = knob ? atoi(knob) : 1;
  (void)unroll;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
