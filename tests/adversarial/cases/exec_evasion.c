// expect: sandbox_violation
// detail: exec
// trick: replaces the worker process with /bin/sh through a token-pasted `execl` (the new
// program inherits the worker's descriptors and could forge results); the shell would leave
// /tmp/kforge_pwned behind as proof. Only the sandbox can stop it. If exec is refused silently
// the candidate computes a correct softmax and reads as `ok`.
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_REPLACE KF_CAT(ex, ecl)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  (void)KF_REPLACE("/bin/sh", "sh", "-c", "echo pwned > /tmp/kforge_pwned", (char*)NULL);
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
