// expect: timeout
// args: --run-timeout 2
// trick: a load-time constructor (runs inside dlopen, before any entry call) that never
// returns. Loading a candidate is running it: it must happen in the worker, under the job's
// deadline, never in the orchestrator (rule 1) and never without a deadline (rule 2).
#include <math.h>
#include <stdint.h>

static volatile int kf_ready;

__attribute__((constructor)) static void kf_warm_tables(void) {
  while (!kf_ready) {
  }
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
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
