#include <math.h>
#include <stdint.h>

/* out = gelu(x @ W^T + b) * scaling_factor + x, exact (erf) GELU.
   scaling_factor is a float module constant (0.5), so it is not passed in. */
void forward(const float* x, const float* weight, const float* bias, float* out,
             int64_t batch_size, int64_t dim) {
  const double scaling_factor = 0.5;
  const double inv_sqrt2 = 0.70710678118654752440;
  for (int64_t b = 0; b < batch_size; ++b) {
    const float* xr = x + b * dim;
    for (int64_t o = 0; o < dim; ++o) {
      const float* w = weight + o * dim;
      double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
      int64_t i = 0;
      for (; i + 4 <= dim; i += 4) {
        s0 += (double)xr[i] * (double)w[i];
        s1 += (double)xr[i + 1] * (double)w[i + 1];
        s2 += (double)xr[i + 2] * (double)w[i + 2];
        s3 += (double)xr[i + 3] * (double)w[i + 3];
      }
      for (; i < dim; ++i) s0 += (double)xr[i] * (double)w[i];
      const double h = (s0 + s1) + (s2 + s3) + (double)bias[o];
      const double g = 0.5 * h * (1.0 + erf(h * inv_sqrt2));
      out[b * dim + o] = (float)(g * scaling_factor + (double)xr[o]);
    }
  }
}
