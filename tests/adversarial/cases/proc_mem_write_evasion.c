// expect: sandbox_violation
// detail: open
// trick: opens /proc/self/mem read-write, the classic way to patch the harness's own code (its
// timer, its comparison) past page protections. The path is assembled from character
// constants, so no string literal contains "/proc", and `open` is token-pasted. A read-only
// file system view does not stop this (procfs stays writable for the process itself): the
// sandbox must refuse and report opening for writing. If refused silently, the candidate
// computes a correct softmax and reads as `ok`.
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define KF_CAT(a, b) a##b
#define KF_OPEN KF_CAT(op, en)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  const char path[] = {'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'm', 'e', 'm', 0};
  int fd = KF_OPEN(path, O_RDWR);
  if (fd >= 0) close(fd);
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
