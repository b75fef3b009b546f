// expect: wrong_answer
// detail: determin
// trick: a correct softmax plus a tiny relative perturbation (0 to 15 units of 2^-23 per
// element, i.e. a few ulps, far inside the fp32 tolerance) drawn from a generator advanced on
// every call. Every single answer passes the tolerance check; only the re-run on the same
// inputs (rule 10) sees the answer move, as a data race or stale memory would make it move.
#include <math.h>
#include <stdint.h>

static uint64_t calls;

static uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  uint64_t seed = splitmix64(++calls);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) {
      uint64_t k = splitmix64(seed ^ (uint64_t)(r * cols + j)) >> 60;  // 0..15
      yr[j] = (float)(yr[j] / s * (1.0 + (double)k * 0x1p-23));
    }
  }
}
