// expect: static_violation
// rule: threads
// trick: splits the rows across pthreads. Correct, but the task's default policy forbids
// threads (the timing would measure the machine's core count, not the kernel).
#include <math.h>
#include <pthread.h>
#include <stdint.h>

struct kf_job {
  const float* x;
  float* y;
  int64_t r0, r1, cols;
};

static void* run_job(void* arg) {
  struct kf_job* job = arg;
  for (int64_t r = job->r0; r < job->r1; ++r) {
    const float* xr = job->x + r * job->cols;
    float* yr = job->y + r * job->cols;
    float m = xr[0];
    for (int64_t j = 1; j < job->cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < job->cols; ++j) {
      yr[j] = expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < job->cols; ++j) yr[j] = (float)(yr[j] / s);
  }
  return NULL;
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  struct kf_job a = {x, y, 0, rows / 2, cols};
  struct kf_job b = {x, y, rows / 2, rows, cols};
  pthread_t t;
  pthread_create(&t, NULL, run_job, &a);
  run_job(&b);
  pthread_join(t, NULL);
}
