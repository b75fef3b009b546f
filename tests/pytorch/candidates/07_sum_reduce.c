#include <stdint.h>

/* out[b,0,j] = sum_i x[b,i,j]: walk rows of the reduced dim contiguously,
   accumulating a row of dim2 double sums. reduce_dim is fixed at 1. */
void forward(const float* x, float* out, int64_t batch_size, int64_t dim1, int64_t dim2,
             int64_t reduce_dim) {
  (void)reduce_dim;
  double acc[dim2];
  for (int64_t b = 0; b < batch_size; ++b) {
    for (int64_t j = 0; j < dim2; ++j) acc[j] = 0.0;
    const float* xb = x + b * dim1 * dim2;
    for (int64_t i = 0; i < dim1; ++i) {
      const float* r = xb + i * dim2;
      for (int64_t j = 0; j < dim2; ++j) acc[j] += (double)r[j];
    }
    float* o = out + b * dim2;
    for (int64_t j = 0; j < dim2; ++j) o[j] = (float)acc[j];
  }
}
