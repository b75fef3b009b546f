#include <math.h>
#include <stdint.h>
#include <string.h>

/* expf for x <= 0 as 2^n * e^r: n = round(x / ln2) by the 1.5*2^23 trick,
   Cody-Waite reduction, degree-7 Taylor on |r| <= ln2/2 (relative error
   ~1e-7). Branch-free and call-free, so the loop vectorizes. */
static inline float exp_neg(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* Row-wise softmax: max, exp (stored in out), double sum, scale. */
void forward(const float* x, float* out, int64_t batch_size, int64_t dim) {
  for (int64_t b = 0; b < batch_size; ++b) {
    const float* row = x + b * dim;
    float* o = out + b * dim;
    float mm[8];
    for (int k = 0; k < 8; ++k) mm[k] = row[0];
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8)
      for (int k = 0; k < 8; ++k) mm[k] = row[i + k] > mm[k] ? row[i + k] : mm[k];
    for (; i < dim; ++i) mm[0] = row[i] > mm[0] ? row[i] : mm[0];
    float m = mm[0];
    for (int k = 1; k < 8; ++k) m = mm[k] > m ? mm[k] : m;
    for (int64_t j = 0; j < dim; ++j) o[j] = exp_neg(row[j] - m);
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    i = 0;
    for (; i + 8 <= dim; i += 8)
      for (int k = 0; k < 8; ++k) s[k] += (double)o[i + k];
    for (; i < dim; ++i) s[0] += (double)o[i];
    const double sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    const float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < dim; ++j) o[j] *= inv;
  }
}
