// expect: wrong_answer
// detail: computes differently when timed
// trick: computes only when its output holds the harness's NaN poison (as during correctness
// checks) and returns at once otherwise (as during timing, where outputs keep earlier results).
// Correctness and the re-check pass; the timed calls do no work. Every timed set holds other
// inputs, and the outputs a timed call leaves in a secret set are checked against the reference:
// they are stale. (Before that check, the median fell below the roofline floor: `suspicious`.)
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (!isnan(y[0])) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t c = 1; c < cols; ++c) m = xr[c] > m ? xr[c] : m;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += exp((double)xr[c] - m);
    for (int64_t c = 0; c < cols; ++c) yr[c] = (float)(exp((double)xr[c] - m) / s);
  }
}
