// expect: wrong_answer
// trick: exact on small shapes, approximate on big ones: above 65536 elements it switches to a
// bit-trick exponential (Schraudolph's, a few percent error) on the bet that only small shapes
// are checked and only the big one is timed. The timed size must be checked too.
#include <math.h>
#include <stdint.h>
#include <string.h>

static float fast_exp(float v) {
  if (v < -87.0f) return 0.0f;
  int32_t i = (int32_t)(12102203.0f * v + 1064866805.0f);
  float f;
  memcpy(&f, &i, sizeof(f));
  return f;
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  int fast = rows * cols > 65536;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = fast ? fast_exp(xr[j] - m) : expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
