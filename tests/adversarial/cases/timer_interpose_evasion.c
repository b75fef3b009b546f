// expect: ok
// trick: defines its own clock_gettime and gettimeofday (names token-pasted past the static
// check) that report a frozen clock, hoping the harness's timer calls bind to them and every
// call measures 0 ns. A candidate loaded with RTLD_LOCAL into a worker whose own clock calls
// are already bound to libc cannot interpose; the softmax itself is correct, so the verdict is
// `ok` with a plausible time (were the clock frozen, the time would be below the floor).
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KF_CAT(a, b) a##b

int KF_CAT(clock_, gettime)(int clock_id, void* ts) {
  (void)clock_id;
  memset(ts, 0, 16);  // struct timespec {0, 0}
  return 0;
}

int KF_CAT(gettime, ofday)(void* tv, void* tz) {
  (void)tz;
  if (tv) memset(tv, 0, 16);
  return 0;
}

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
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
