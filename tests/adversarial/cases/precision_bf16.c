// expect: wrong_answer
// trick: a "mixed precision" softmax that rounds every exponential to bfloat16 (8 bits of
// mantissa) before summing and normalizing: about 2e-3 relative error, fine for training, far
// outside the fp32 tolerance the task asks for.
#include <math.h>
#include <stdint.h>
#include <string.h>

static float round_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  u &= 0xffff0000u;
  memcpy(&f, &u, sizeof(f));
  return f;
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = round_to_bf16(expf(xr[j] - m));
      s += yr[j];
    }
    float inv = round_to_bf16(1.0f / s);
    for (int64_t j = 0; j < cols; ++j) yr[j] = round_to_bf16(yr[j] * inv);
  }
}
