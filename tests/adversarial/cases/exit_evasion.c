// expect: crash
// detail: exited
// trick: calls exit(0) before writing any output, so the worker process ends "successfully"
// in the middle of a call. The identifier `exit` never appears as a token: it is built by
// token pasting, which a check on the source's identifiers cannot see. The worker must treat
// any exit during a call as a crash ("exited with status 0"), not as a result.
#include <stdint.h>
#include <stdlib.h>

#define KF_CAT(a, b) a##b
#define KF_LEAVE KF_CAT(ex, it)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  (void)x;
  (void)y;
  (void)rows;
  (void)cols;
  KF_LEAVE(0);
}
