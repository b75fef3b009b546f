// expect: wrong_answer
// detail: modified
// trick: computes a correct softmax but uses the (const!) input as scratch space for the
// exponentials, saving a buffer. The output is right; the input is destroyed, which breaks any
// caller that reuses it. The harness must compare the inputs after the call.
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  float* scratch = (float*)x;  // casts const away
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = scratch + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      xr[j] = expf(xr[j] - m);
      s += xr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(xr[j] / s);
  }
}
