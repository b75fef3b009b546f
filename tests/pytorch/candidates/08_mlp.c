#include <stdint.h>

/* One dense layer for a single row: y[o] = sum_i v[i] * W[o,i] + b[o], optional ReLU. */
static void dense(const float* v, const float* W, const float* bias, float* y, int64_t n_in,
                  int64_t n_out, int relu) {
  for (int64_t o = 0; o < n_out; ++o) {
    const float* w = W + o * n_in;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n_in; i += 4) {
      s0 += (double)v[i] * (double)w[i];
      s1 += (double)v[i + 1] * (double)w[i + 1];
      s2 += (double)v[i + 2] * (double)w[i + 2];
      s3 += (double)v[i + 3] * (double)w[i + 3];
    }
    for (; i < n_in; ++i) s0 += (double)v[i] * (double)w[i];
    double r = (s0 + s1) + (s2 + s3) + (double)bias[o];
    if (relu && r < 0.0) r = 0.0;
    y[o] = (float)r;
  }
}

void forward(const float* x, const float* w0, const float* b0, const float* w2,
             const float* b2, const float* w4, const float* b4, float* out,
             int64_t batch_size, int64_t input_size, int64_t hidden_size,
             int64_t output_size) {
  float h1[hidden_size];
  float h2[hidden_size];
  for (int64_t b = 0; b < batch_size; ++b) {
    dense(x + b * input_size, w0, b0, h1, input_size, hidden_size, 1);
    dense(h1, w2, b2, h2, hidden_size, hidden_size, 1);
    dense(h2, w4, b4, out + b * output_size, hidden_size, output_size, 0);
  }
}
