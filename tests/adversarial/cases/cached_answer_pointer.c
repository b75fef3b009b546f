// expect: wrong_answer
// trick: memoizes results keyed on (input pointer, rows, cols): the first call on a buffer is
// computed correctly, every later call on the same buffer replays the stored answer whatever
// the buffer now holds (the data_ptr cache seen in the wild). Caught when the harness writes
// fresh inputs into a buffer the candidate has already seen (rule 15) and checks again.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KF_SLOTS 16

struct kf_memo {
  const float* x;
  int64_t rows, cols;
  float* answer;
};
static struct kf_memo memo[KF_SLOTS];
static int memo_next;

static void compute(const float* x, float* y, int64_t rows, int64_t cols) {
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

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  size_t bytes = (size_t)(rows * cols) * sizeof(float);
  for (int i = 0; i < KF_SLOTS; ++i) {
    if (memo[i].answer != NULL && memo[i].x == x && memo[i].rows == rows && memo[i].cols == cols) {
      memcpy(y, memo[i].answer, bytes);
      return;
    }
  }
  compute(x, y, rows, cols);
  struct kf_memo* slot = &memo[memo_next];
  memo_next = (memo_next + 1) % KF_SLOTS;
  free(slot->answer);
  slot->answer = malloc(bytes);
  if (slot->answer == NULL) return;
  memcpy(slot->answer, y, bytes);
  slot->x = x;
  slot->rows = rows;
  slot->cols = cols;
}
