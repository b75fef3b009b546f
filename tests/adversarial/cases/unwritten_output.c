// expect: wrong_answer
// trick: returns without writing anything, hoping the output buffer still holds a correct
// answer from an earlier call (or zeros that pass a loose check). Output poisoning before every
// call makes every unwritten element fail.
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  (void)x;
  (void)y;
  (void)rows;
  (void)cols;
}
