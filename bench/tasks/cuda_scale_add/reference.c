// Reference for scale_add, in double precision.
#include <stdint.h>
void scale_add(const double* x, const double* b, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 2.0 * x[i] + b[i];
}
