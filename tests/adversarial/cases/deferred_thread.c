// expect: static_violation
// rule: threads
// trick: returns at once and leaves the work to a detached background thread that writes the
// output later, so the timed call measures only a thread launch. Rejected statically (threads);
// were it not, the poisoned output would be read before the thread finished (and the work would
// escape the timer: rule 13).
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct kf_job {
  const float* x;
  float* y;
  int64_t rows, cols;
};

static void* later(void* arg) {
  struct kf_job* job = arg;
  for (int64_t r = 0; r < job->rows; ++r) {
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
  free(job);
  return NULL;
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  struct kf_job* job = malloc(sizeof(*job));
  if (job == NULL) return;
  job->x = x;
  job->y = y;
  job->rows = rows;
  job->cols = cols;
  pthread_t t;
  if (pthread_create(&t, NULL, later, job) == 0) pthread_detach(t);
}
