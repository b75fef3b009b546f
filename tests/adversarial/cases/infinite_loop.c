// expect: timeout
// args: --run-timeout 2
// trick: spins forever waiting for a "ready" flag that nothing ever sets (the flag is
// volatile, so the compiler cannot drop the loop). The worker must be killed at the deadline.
#include <math.h>
#include <stdint.h>

static volatile int ready;

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  while (!ready) {
  }
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
