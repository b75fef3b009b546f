// expect: crash
// signal: SIGSEGV
// trick: a recursive pairwise row sum with a base case for n == 1 but not for n == 0; when
// cols is a multiple of the 8-wide block (the bench size, 1000, is), the last block is empty
// and the recursion never ends. The stack overflows and the kernel kills the worker with
// SIGSEGV (no handler can run on the exhausted stack): the harness must see it from outside.
#include <math.h>
#include <stdint.h>

static double pair_sum(const float* p, int64_t n) {
  if (n == 1) return p[0];
  int64_t h = n / 2;
  return pair_sum(p, h) + pair_sum(p + h, n - h);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  int64_t blocks = cols / 8 + 1;  // should be (cols + 7) / 8
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    for (int64_t j = 0; j < cols; ++j) yr[j] = expf(xr[j] - m);
    double s = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
      int64_t lo = b * 8;
      int64_t len = cols - lo < 8 ? cols - lo : 8;
      s += pair_sum(yr + lo, len);
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
