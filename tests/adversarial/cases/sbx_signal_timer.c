// expect: sandbox_violation
// detail: setitimer
// trick: arms a profiling timer (setitimer token-pasted, its struct declared by hand past the
// static check's <sys/time.h> rule) and returns with it still armed: its signal lands in
// whatever the worker runs next (the timing loop, a baseline, the next candidate), which a
// handler could tax or which, unhandled, ends the worker mid-measurement. No kernel needs
// a timer, so the allow-list leaves timers out. If the timer is merely refused without being
// reported, the candidate computes a correct softmax, so the case reads `ok` and fails.
#include <math.h>
#include <stdint.h>

#define KF_CAT(a, b) a##b
#define KF_ARM KF_CAT(setiti, mer)

struct kf_timer {  // struct itimerval
  long interval_s, interval_us, value_s, value_us;
};
int KF_ARM(int which, const struct kf_timer* timer, struct kf_timer* old);

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  const struct kf_timer later = {0, 0, 30, 0};  // once, after 30 s of CPU time
  KF_ARM(2 /* ITIMER_PROF */, &later, 0);
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
