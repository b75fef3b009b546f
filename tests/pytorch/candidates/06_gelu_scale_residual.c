#include <math.h>
#include <stdint.h>

/* y[r,o] = sum_i x[r,i] * W[o,i] + bias[o] for `rows` rows (x row stride n).
   Four rows of x share each weight row; each row keeps 8 float lanes that are
   folded into double sums every 64 inputs (short float chains, long sums in
   double). */
static void dense(const float* x, int64_t rows, const float* W, const float* bias, float* y,
                  int64_t n, int64_t n_out) {
  int64_t r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) {
    const float* xr = x + r0 * n;
    for (int64_t o = 0; o < n_out; ++o) {
      const float* w = W + o * n;
      double acc[4][8];
      for (int r = 0; r < 4; ++r)
        for (int k = 0; k < 8; ++k) acc[r][k] = 0.0;
      int64_t i0 = 0;
      for (; i0 + 64 <= n; i0 += 64) {
        float s[4][8];
        for (int r = 0; r < 4; ++r)
          for (int k = 0; k < 8; ++k) s[r][k] = 0.0f;
        for (int64_t i = i0; i < i0 + 64; i += 8)
          for (int r = 0; r < 4; ++r)
            for (int k = 0; k < 8; ++k) s[r][k] += xr[r * n + i + k] * w[i + k];
        for (int r = 0; r < 4; ++r)
          for (int k = 0; k < 8; ++k) acc[r][k] += (double)s[r][k];
      }
      for (int r = 0; r < 4; ++r) {
        double t = (double)bias[o];
        for (int64_t i = i0; i < n; ++i) t += (double)xr[r * n + i] * (double)w[i];
        t += ((acc[r][0] + acc[r][1]) + (acc[r][2] + acc[r][3])) +
             ((acc[r][4] + acc[r][5]) + (acc[r][6] + acc[r][7]));
        y[(r0 + r) * n_out + o] = (float)t;
      }
    }
  }
  for (; r0 < rows; ++r0)
    for (int64_t o = 0; o < n_out; ++o) {
      double t = (double)bias[o];
      for (int64_t i = 0; i < n; ++i) t += (double)x[r0 * n + i] * (double)W[o * n + i];
      y[r0 * n_out + o] = (float)t;
    }
}

/* out = gelu(x @ W^T + b) * scaling_factor + x, exact (erf) GELU.
   scaling_factor is a float module constant (0.5), so it is not passed in. */
void forward(const float* x, const float* weight, const float* bias, float* out,
             int64_t batch_size, int64_t dim) {
  const double scaling_factor = 0.5;
  const double inv_sqrt2 = 0.70710678118654752440;
  dense(x, batch_size, weight, bias, out, dim, dim);
  const int64_t total = batch_size * dim;
  for (int64_t j = 0; j < total; ++j) {
    const double h = out[j];
    const double g = 0.5 * h * (1.0 + erf(h * inv_sqrt2));
    out[j] = (float)(g * scaling_factor + (double)x[j]);
  }
}
