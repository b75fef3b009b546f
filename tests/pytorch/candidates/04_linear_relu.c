#include <stdint.h>

/* out[b,o] = relu(sum_i x[b,i] * W[o,i] + bias[o]); both rows contiguous. */
void forward(const float* x, const float* weight, const float* bias, float* out,
             int64_t batch_size, int64_t in_features, int64_t out_features) {
  for (int64_t b = 0; b < batch_size; ++b) {
    const float* xr = x + b * in_features;
    for (int64_t o = 0; o < out_features; ++o) {
      const float* w = weight + o * in_features;
      double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
      int64_t i = 0;
      for (; i + 4 <= in_features; i += 4) {
        s0 += (double)xr[i] * (double)w[i];
        s1 += (double)xr[i + 1] * (double)w[i + 1];
        s2 += (double)xr[i + 2] * (double)w[i + 2];
        s3 += (double)xr[i + 3] * (double)w[i + 3];
      }
      for (; i < in_features; ++i) s0 += (double)xr[i] * (double)w[i];
      const double v = (s0 + s1) + (s2 + s3) + (double)bias[o];
      out[b * out_features + o] = v > 0.0 ? (float)v : 0.0f;
    }
  }
}
