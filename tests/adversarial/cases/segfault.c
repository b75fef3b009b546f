// expect: crash
// signal: SIGSEGV
// trick: writes through a scratch pointer that was never allocated (NULL), killing the worker
// with SIGSEGV. The pointer is read through a volatile so the compiler cannot turn the store
// into a trap instruction (which would be SIGILL).
#include <math.h>
#include <stdint.h>

static float* volatile scratch;  // "allocated elsewhere": never, so it stays NULL

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* buf = scratch;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      buf[j] = expf(xr[j] - m);
      s += buf[j];
    }
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = (float)(buf[j] / s);
  }
}
