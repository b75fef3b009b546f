// expect: sandbox_violation
// trick: a fork bomb whose `fork` (and the children's `_exit`) are built by token pasting, so
// the static check never sees them; only the sandbox (seccomp / process limits) can stop it.
// Bounded so that a run without a sandbox cannot take the host down: 8 doublings (at most 256
// short-lived processes), the children leave at once and the original computes a correct
// softmax, so an evaluator without the defence reports `ok` and this test fails.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_SPAWN KF_CAT(fo, rk)
#define KF_LEAVE KF_CAT(_ex, it)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  int is_child = 0;
  for (int i = 0; i < 8; ++i) {
    pid_t p = KF_SPAWN();
    if (p == 0) is_child = 1;  // children keep doubling too
  }
  if (is_child) KF_LEAVE(0);
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
