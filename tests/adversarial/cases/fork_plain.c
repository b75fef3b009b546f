// expect: static_violation
// rule: process
// trick: "parallelizes" by forking a child process per half of the rows; the static check must
// reject fork() before anything runs.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <unistd.h>

static void rows_softmax(const float* x, float* y, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; ++r) {
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

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  pid_t child = fork();
  if (child == 0) {
    rows_softmax(x, y, rows / 2, rows, cols);  // lands in the child's copy of y: lost
    return;
  }
  rows_softmax(x, y, 0, rows, cols);
}
