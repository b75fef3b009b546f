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

static void relu(float* v, int64_t n) {
  for (int64_t j = 0; j < n; ++j) v[j] = v[j] > 0.0f ? v[j] : 0.0f;
}

/* Linear -> ReLU -> Linear -> ReLU -> Linear, 16 batch rows at a time so the
   hidden activations stay in small stack buffers. */
void forward(const float* x, const float* w0, const float* b0, const float* w2,
             const float* b2, const float* w4, const float* b4, float* out,
             int64_t batch_size, int64_t input_size, int64_t hidden_size,
             int64_t output_size) {
  enum { ROWS = 16 };
  float h1[ROWS * hidden_size];
  float h2[ROWS * hidden_size];
  for (int64_t b = 0; b < batch_size; b += ROWS) {
    const int64_t rows = batch_size - b < ROWS ? batch_size - b : ROWS;
    dense(x + b * input_size, rows, w0, b0, h1, input_size, hidden_size);
    relu(h1, rows * hidden_size);
    dense(h1, rows, w2, b2, h2, hidden_size, hidden_size);
    relu(h2, rows * hidden_size);
    dense(h2, rows, w4, b4, out + b * output_size, hidden_size, output_size);
  }
}
