// expect: crash
// signal: SIGABRT
// trick: an internal consistency check fails and calls abort() (what a failed assert() does),
// killing the worker with SIGABRT in the middle of a call.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
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
    // Every row sum is >= 1 (the max term is exp(0) = 1), so this "check" always fires.
    if (s >= 1.0) abort();
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
