#include <math.h>
#include <stdint.h>

/* LayerNorm over the last dim, eps = 1e-5 (nn.LayerNorm default), biased variance. */
void forward(const float* x, const float* weight, const float* bias, float* out,
             int64_t batch_size, int64_t dim) {
  const double eps = 1e-5;
  for (int64_t b = 0; b < batch_size; ++b) {
    const float* r = x + b * dim;
    float* o = out + b * dim;
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum += r[i];
    const double mean = sum / (double)dim;
    double sq = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      const double d = (double)r[i] - mean;
      sq += d * d;
    }
    const double rstd = 1.0 / sqrt(sq / (double)dim + eps);
    for (int64_t i = 0; i < dim; ++i)
      o[i] = (float)(((double)r[i] - mean) * rstd * (double)weight[i] + (double)bias[i]);
  }
}
