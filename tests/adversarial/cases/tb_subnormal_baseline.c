// expect: wrong_answer
// detail: while it was being timed
// args: --no-seccomp
// (With the system-call filter on, the filter blocks the call it probes memory with: sandbox_violation. The case runs
// without it, to show that the trust boundary holds by itself: every timed set is hashed before timing and checked after it; the baseline also has its own sets in its own worker.)
// good_speedup_within: 0.5
// today: ok 11.2x (the fast example: honest 2.2x); good follow-up ok 2.25x (2.36x alone)
// trick: a sabotaged baseline through the other buffer sets. The candidate is the task's fast
// example (honest). Timed buffer sets are laid out in one arena at a fixed stride, the
// baseline is timed in the same worker on the same sets, and nobody re-checks those inputs
// after timing. So on every call at a shape it has seen at another address it rewrites the
// inputs of every other set it has seen (never the current call's: that one is compared after
// the call) into rows of one 0 and the rest in [-103, -88]: exp(x - max) there is a subnormal
// float, the slow path of the baseline's libm expf and of its arithmetic (the baseline reads
// about 5 times slower on an AMD EPYC; more on CPUs with microcode assists for subnormals).
// Its own exp returns 0 below -87 at no cost. Set 0 (the correctness calls' set) is
// rewritten only once timing has started, and the re-check after timing writes fresh inputs
// into the set it uses. No forbidden identifier is needed. Stopped by timing the baseline
// in its own worker on its own buffers, filling each timed set with different inputs and
// verifying them after timing.
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

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

// Input pointers seen per shape, and whether their contents were rewritten.
#define KF_MAX_SETS 256
static const float* kf_seen[KF_MAX_SETS];
static int kf_done[KF_MAX_SETS];
static int kf_count;
static int64_t kf_rows, kf_cols;

static void kf_sabotage(float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    float* xr = x + r * cols;
    xr[0] = 0.0f;
    for (int64_t c = 1; c < cols; c++) {
      const uint32_t h = (uint32_t)(r * cols + c) * 2654435761u;
      xr[c] = -88.0f - (float)(h >> 20) * (15.0f / 4096.0f);
    }
  }
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols);
  if (rows * cols < 100000) return;  // only the bench shape is timed
  if (rows != kf_rows || cols != kf_cols) {
    kf_rows = rows;
    kf_cols = cols;
    kf_count = 0;
  }
  int known = 0;
  for (int i = 0; i < kf_count; i++) known |= kf_seen[i] == x;
  if (!known && kf_count < KF_MAX_SETS) {
    kf_done[kf_count] = 0;
    kf_seen[kf_count++] = x;
  }
  if (kf_count < 2) return;  // one address only: still the correctness calls
  // A set sits at a multiple of the set size from this one; the arena may have been mapped
  // again since a pointer was seen (it grows before timing): skip what is no longer mapped.
  const int64_t align = 64, bytes = (rows * cols * 4 + align - 1) / align * align;
  const int64_t stride = 2 * bytes;  // x then y
  static unsigned char vec[1 << 16];
  for (int i = 0; i < kf_count; i++) {
    if (kf_seen[i] == x || kf_done[i]) continue;
    const int64_t diff = (const char*)kf_seen[i] - (const char*)x;
    if (diff % stride != 0) continue;
    const uintptr_t page = (uintptr_t)kf_seen[i] & ~(uintptr_t)4095;
    const size_t len = (size_t)((uintptr_t)kf_seen[i] + (uintptr_t)bytes - page);
    if (len / 4096 + 1 > sizeof vec || mincore((void*)page, len, vec) != 0) continue;
    kf_sabotage((float*)kf_seen[i], rows, cols);
    kf_done[i] = 1;
  }
}
