// expect: sandbox_violation
// detail: kill
// trick: tries to kill the orchestrator (its parent) with SIGKILL, the name assembled by a macro
// so the static check never sees `kill`. The system-call filter allows signals only to the
// worker itself.
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_SIGNAL_PROCESS KF_CAT(ki, ll)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  KF_SIGNAL_PROCESS(getppid(), SIGKILL);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t c = 1; c < cols; ++c) m = xr[c] > m ? xr[c] : m;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += exp((double)xr[c] - m);
    for (int64_t c = 0; c < cols; ++c) yr[c] = (float)(exp((double)xr[c] - m) / s);
  }
}
