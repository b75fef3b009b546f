#include <math.h>
#include <stdint.h>

/* Row-wise softmax: max, one expf per element (stored in out), double sum, scale. */
void forward(const float* x, float* out, int64_t batch_size, int64_t dim) {
  for (int64_t b = 0; b < batch_size; ++b) {
    const float* row = x + b * dim;
    float* o = out + b * dim;
    float m = row[0];
    for (int64_t i = 1; i < dim; ++i) m = row[i] > m ? row[i] : m;
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      const float e = expf(row[i] - m);
      o[i] = e;
      sum += e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < dim; ++i) o[i] *= inv;
  }
}
