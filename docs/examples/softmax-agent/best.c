/* Fast single-threaded softmax_rows: three vectorizable passes per row
 * (max, exp + sum, scale) with exp evaluated once per element by an inline
 * polynomial (Cephes-style range reduction, ~1 ulp) that the compiler can
 * vectorize. Max and sum keep LANES independent partials so that they
 * vectorize without -ffast-math (64 lanes: gcc only vectorizes the max
 * when the lane loop is too long to be fully unrolled). */
#include <stdint.h>
#include <string.h>

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

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) softmax_row(x + r * cols, y + r * cols, cols);
}