// expect: crash
// args: --worker-memory 1024
// trick: allocates and touches memory in 64 MiB chunks until malloc fails, then (as careless
// code does) writes through the NULL it got back. The worker needs a memory limit (an address
// space or cgroup limit) so that this ends in the worker, not in the host's OOM killer; an
// out-of-memory kill of the worker must still read as a crash.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KF_CHUNK ((size_t)64 << 20)

// The chunks form a list reachable from a global, so the compiler cannot elide them.
void* volatile kf_hoard;

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  (void)x;
  for (;;) {
    char* p = malloc(KF_CHUNK);
    char* volatile q = p;  // hides that p is NULL in the failure branch
    if (p == NULL) {
      q[0] = 1;
      break;
    }
    memset(p, 0x5a, KF_CHUNK);
    *(void**)p = kf_hoard;
    kf_hoard = p;
  }
  for (int64_t i = 0; i < rows * cols; ++i) y[i] = 1.0f / (float)cols;
}
