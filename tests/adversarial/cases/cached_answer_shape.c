// expect: wrong_answer
// trick: memoizes the result keyed on the shape alone: the first call at each (rows, cols) is
// computed correctly, every later call at that shape replays it. A re-run on the same inputs
// (the determinism check) agrees with it; any second trial with fresh inputs at that shape, or
// the re-check after timing (rule 15), does not.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KF_SLOTS 16

struct kf_memo {
  int64_t rows, cols;
  float* answer;
};
static struct kf_memo memo[KF_SLOTS];
static int memo_used;

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  size_t bytes = (size_t)(rows * cols) * sizeof(float);
  for (int i = 0; i < memo_used; ++i) {
    if (memo[i].rows == rows && memo[i].cols == cols) {
      memcpy(y, memo[i].answer, bytes);
      return;
    }
  }
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
  if (memo_used < KF_SLOTS) {
    float* copy = malloc(bytes);
    if (copy == NULL) return;
    memcpy(copy, y, bytes);
    memo[memo_used].rows = rows;
    memo[memo_used].cols = cols;
    memo[memo_used].answer = copy;
    ++memo_used;
  }
}
