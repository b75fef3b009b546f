// expect: compile_error
// trick: a correct C++ softmax whose entry lacks `extern "C"`: the exported symbol is the
// mangled _Z12softmax_rowsPKfPfll, so the entry the task names is missing (the most common
// C++ candidate mistake). Must be reported as a missing entry, not crash the worker.
#include <cmath>
#include <cstdint>

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = static_cast<float>(yr[j] / s);
  }
}
