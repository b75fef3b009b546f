// expect: ok
// trick: none, a control: a correct C++ candidate (extern "C" entry, std::exp, a std::vector
// scratch row) proves the C++ path compiles, loads and is judged `ok`, so the failures the
// other cases provoke are theirs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  std::vector<double> e(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = *std::max_element(xr, xr + cols);
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      e[j] = std::exp(static_cast<double>(xr[j] - m));
      s += e[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = static_cast<float>(e[j] / s);
  }
}
