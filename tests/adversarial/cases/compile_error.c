// expect: compile_error
// trick: does not compile (a missing semicolon and an undeclared variable); the verdict must
// carry the compiler's log and the evaluator must go on to the next candidate.
#include <math.h>
#include <stdint.h>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r* cols float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = expf(xr[j] - m) / total;
  }
}
