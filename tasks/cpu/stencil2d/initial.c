/* Initial (naive) stencil2d: correct but slow. It walks the grid column by
 * column (j outer, i inner), so consecutive points are a whole row apart in
 * memory, and tests for the boundary at every point. */
#include <stdint.h>

void stencil2d(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t j = 0; j < cols; j++)
    for (int64_t i = 0; i < rows; i++) {
      if (i == 0 || j == 0 || i == rows - 1 || j == cols - 1)
        y[i * cols + j] = x[i * cols + j];
      else
        y[i * cols + j] = 0.2f * (x[i * cols + j] + x[(i - 1) * cols + j] + x[(i + 1) * cols + j] +
                                  x[i * cols + j + 1] + x[i * cols + j - 1]);
    }
}
