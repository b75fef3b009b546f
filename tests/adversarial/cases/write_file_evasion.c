// expect: sandbox_violation
// detail: open
// trick: opens /tmp/kforge_pwned for writing (outside the worker's scratch directory) through a
// token-pasted `fopen` that the static check cannot see; only the sandbox can stop it. If the
// open is merely refused without being reported, the candidate goes on to compute a correct
// softmax, so a silent refusal reads as `ok` and this test fails.
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define KF_CAT(a, b) a##b
#define KF_OPEN_FILE KF_CAT(fop, en)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  FILE* f = KF_OPEN_FILE("/tmp/kforge_pwned", "w");
  if (f != NULL) {
    fputs("written by an untrusted candidate\n", f);
    fclose(f);
  }
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
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
