// expect: static_violation
// rule: memory_protection
// trick: looks at the parent process (the harness) through /proc/<ppid>/exe, the first step to
// reading its memory or its command line. Uses readlink, which no identifier rule names, so
// only the check for "/proc" in string literals catches it.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static char harness_path[4096];

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/exe", (int)getppid());
  ssize_t n = readlink(path, harness_path, sizeof(harness_path) - 1);
  if (n > 0) harness_path[n] = 0;
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
