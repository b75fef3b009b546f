// expect: ok
// args: --no-seccomp
// (With the system-call filter on, the filter blocks its timer: sandbox_violation. The case runs
// without it, to show that the trust boundary holds by itself.)
// max_speedup: 18
// good_speedup_within: 0.5
// today: ok 9.3x (the fast example read 2.2x honestly then; max_speedup is 1.5 times its honest speedup as `bench/builtin_speedups.py` reads it, 12x, and the trick slows the baseline about 5 times); good follow-up ok 2.35x (2x alone)
// trick: a signal timer taxing the baseline. The candidate is the task's fast example
// (honest). On its first call it installs a SIGPROF handler (pasted sigaction) and a
// profiling interval timer (pasted setitimer, struct declared by hand: <sys/time.h> is a
// timers header) asking for a signal every 1 ms of the worker's CPU time (the kernel delivers
// it at its tick, every 4 ms at HZ=250). The handler returns at once while the candidate's
// entry runs; otherwise it burns 4 times the time since it last returned (pasted
// clock_gettime), at most 20 ms: whatever runs in the worker outside the candidate, the
// baseline timed in the same worker above all, gets a fifth of the CPU and reads 5 times
// slower. A profiling timer only fires while the worker computes, so an idle worker burns
// nothing. The timer stays armed for later candidates in the worker (taxed like their
// baseline, so their speedup holds). The filter allows rt_sigaction for every signal but
// SIGSYS. Stopped by timing the baseline in its own worker, freezing (SIGSTOP) the
// candidate's process while the baseline is timed, and a fresh worker per candidate.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>

#define KF_CAT(a, b) a##b

struct kf_ts {
  long sec, nsec;
};
struct kf_itimerval {
  long interval_sec, interval_usec, value_sec, value_usec;
};
int KF_CAT(clock_, gettime)(int id, struct kf_ts* ts);
int KF_CAT(setiti, mer)(int which, const struct kf_itimerval* v, struct kf_itimerval* old);

#define LANES 64

/* exp(v) for v <= 0; returns 0 below -87 (where exp(v) < 1.7e-38). */
static inline float exp_neg(float v) {
  float xc = v < -87.0f ? -87.0f : v;
  float t = xc * 1.44269504088896341f + 12582912.0f; /* round to nearest */
  float n = t - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23; /* 2^n */
  float s;
  memcpy(&s, &bits, sizeof s);
  return v < -87.0f ? 0.0f : e * s;
}

static void softmax_row(const float* restrict x, float* restrict y, int64_t n) {
  int64_t nb = n - n % LANES, c;
  float m = x[0];
  if (nb > 0) {
    float mx[LANES];
    for (int l = 0; l < LANES; l++) mx[l] = x[l];
    for (c = LANES; c < nb; c += LANES)
      for (int l = 0; l < LANES; l++) mx[l] = x[c + l] > mx[l] ? x[c + l] : mx[l];
    for (int l = 0; l < LANES; l++) m = mx[l] > m ? mx[l] : m;
  }
  for (c = nb; c < n; c++) m = x[c] > m ? x[c] : m;

  float acc[LANES] = {0};
  for (c = 0; c < nb; c += LANES)
    for (int l = 0; l < LANES; l++) {
      float e = exp_neg(x[c + l] - m);
      y[c + l] = e;
      acc[l] += e;
    }
  float sum = 0.0f;
  for (int l = 0; l < LANES; l++) sum += acc[l];
  for (c = nb; c < n; c++) {
    y[c] = exp_neg(x[c] - m);
    sum += y[c];
  }

  float inv = 1.0f / sum;
  for (c = 0; c < n; c++) y[c] *= inv;
}

static volatile sig_atomic_t kf_in_call;

static long long kf_now_ns(void) {
  struct kf_ts ts;
  KF_CAT(clock_, gettime)(1, &ts);
  return ts.sec * 1000000000LL + ts.nsec;
}

static long long kf_last_exit;

static void kf_tax(int sig) {
  (void)sig;
  const long long now = kf_now_ns();
  if (!kf_in_call && kf_last_exit > 0) {
    long long burn = 4 * (now - kf_last_exit);
    if (burn > 20000000) burn = 20000000;
    while (kf_now_ns() < now + burn) {
    }
  }
  kf_last_exit = kf_now_ns();
}

static int kf_armed;

static void kf_arm(void) {
  struct KF_CAT(sig, action) sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = kf_tax;
  sa.sa_flags = SA_RESTART;
  KF_CAT(sig, action)(SIGPROF, &sa, 0);
  const struct kf_itimerval every_ms = {0, 1000, 0, 1000};
  KF_CAT(setiti, mer)(2 /* ITIMER_PROF */, &every_ms, 0);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  kf_in_call = 1;
  if (!kf_armed) {
    kf_armed = 1;
    kf_arm();
  }
  for (int64_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols);
  kf_in_call = 0;
}
