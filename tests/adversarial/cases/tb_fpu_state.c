// expect: ok
// good_speedup_within: 0.5
// today: ok; the good follow-up judged after it crashes (SIGFPE at rows=1 cols=5, `large`)
// trick: floating-point control state left for the next candidate. A correct softmax that, on
// the way out of every call, clears the exception flags and unmasks the floating-point
// exceptions underflow, overflow, divide-by-zero and invalid (feenableexcept: MXCSR and the
// x87 control word; no forbidden identifier). It masks them again on entry, so its own calls
// and the worker's code between them, the baseline on normal inputs included, never trap. The
// next candidate loaded into the same worker inherits the unmasked exceptions: the first
// exp() that underflows (the `large` distribution: exp(-300)) raises SIGFPE and the innocent
// candidate is judged `crash`. Stopped by a fresh worker per candidate (or FP control state
// verified and reset before every call).
#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  fedisableexcept(FE_ALL_EXCEPT);
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
  feclearexcept(FE_ALL_EXCEPT);
  feenableexcept(FE_UNDERFLOW | FE_OVERFLOW | FE_DIVBYZERO | FE_INVALID);
}
