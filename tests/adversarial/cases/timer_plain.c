// expect: static_violation
// rule: timers
// trick: reads the clock (clock_gettime) to autotune between two loop orders at run time; a
// candidate that can read the timer can also behave differently while it is being timed.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void row_softmax(const float* xr, float* yr, int64_t cols) {
  float m = xr[0];
  for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
  double s = 0.0;
  for (int64_t j = 0; j < cols; ++j) {
    yr[j] = expf(xr[j] - m);
    s += yr[j];
  }
  for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  double t0 = now_s();
  for (int64_t r = 0; r < rows; ++r) row_softmax(x + r * cols, y + r * cols, cols);
  static double best = 1e30;
  double t = now_s() - t0;
  if (t < best) best = t;
}
