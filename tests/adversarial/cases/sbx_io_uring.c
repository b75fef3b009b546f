// expect: sandbox_violation
// detail: io_uring_setup
// trick: sets up an io_uring through a token-pasted `syscall`. Requests on the ring do file and
// network work (open, write, connect) in the kernel's own workers, which no per-call filter rule
// on open or socket ever sees: without bubblewrap such a ring wrote a host file and reached a
// loopback listener. The filter must refuse the ring itself. If the setup is merely refused
// without being reported, the candidate computes a correct softmax, so the case reads `ok` and
// fails.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_RAW KF_CAT(sys, call)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  unsigned char params[120];  // struct io_uring_params
  memset(params, 0, sizeof(params));
  long ring = KF_RAW(425 /* io_uring_setup */, 8, params);
  if (ring >= 0) close((int)ring);
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
