// expect: suspicious
// detail: floor
// trick: a correct softmax that skips the work when it has already computed this input: it
// remembers, per input pointer, a sample of the input's values (first 4, last 4, 4 in between)
// and how many calls in a row saw exactly those values. From the third such call on it
// returns at once, leaving whatever the output buffer holds. Checking calls write fresh inputs
// (and the determinism re-run is only the second call), so they are all computed; timing loops
// that rotate over unchanged input buffers take nearly zero time. The measured time falls below
// the roofline floor (rule 16), which must read as `suspicious`, never as a speedup.
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KF_SLOTS 64
#define KF_SAMPLES 12

struct kf_seen {
  const float* x;
  int64_t rows, cols;
  float sample[KF_SAMPLES];
  int streak;  // calls in a row that saw the same sampled values
};
static struct kf_seen seen[KF_SLOTS];
static int seen_next;

static void take_sample(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < 4; ++i) {
    out[i] = x[i < n ? i : n - 1];
    out[4 + i] = x[n - 1 - i >= 0 ? n - 1 - i : 0];
    out[8 + i] = x[n * (i + 1) / 5];
  }
}

static void compute(const float* x, float* y, int64_t rows, int64_t cols) {
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

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  float sample[KF_SAMPLES];
  take_sample(x, rows * cols, sample);
  struct kf_seen* slot = NULL;
  for (int i = 0; i < KF_SLOTS; ++i) {
    if (seen[i].x == x && seen[i].rows == rows && seen[i].cols == cols) {
      slot = &seen[i];
      break;
    }
  }
  if (slot == NULL) {
    slot = &seen[seen_next];
    seen_next = (seen_next + 1) % KF_SLOTS;
    slot->x = x;
    slot->rows = rows;
    slot->cols = cols;
    slot->streak = 0;
  }
  if (slot->streak > 0 && memcmp(slot->sample, sample, sizeof(sample)) == 0) {
    if (++slot->streak >= 3) return;  // "already computed": skip
  } else {
    memcpy(slot->sample, sample, sizeof(sample));
    slot->streak = 1;
  }
  compute(x, y, rows, cols);
}
