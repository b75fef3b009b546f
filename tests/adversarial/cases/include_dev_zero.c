// expect: static_violation
// rule: files
// trick: includes an endless device file, which would keep the compiler reading (and growing)
// forever; absolute includes could also copy host files into the compiler log.
#include <stdint.h>

#include </dev/zero>
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows * cols; ++i) y[i] = x[i];
}
