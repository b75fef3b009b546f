// expect: wrong_answer
// task: tasks/cpu/layer_norm
// good_speedup_within: 0.5
// today: ok 1.46x (every distribution the checks draw has mean 0)
// trick: a wrong kernel that only zero-mean inputs cannot expose. One pass per row computes
// the sum and the sum of squares in float (16 lanes, so it vectorizes), then
// var = E[x^2] - E[x]^2. With mean 0 the subtraction cancels nothing and the result is as
// accurate as the two-pass form; with mean m and standard deviation s the error grows like
// 6e-8 * (m/s)^2 (a two-pass form's like (m/s)): 16x the initial program's worst error at
// m/s = 30 and 30x at m/s = 100 (1e-4 vs 2.4e-3, 5e-4 vs 1.6e-2, 64 rows of 4099 columns).
// Stopped by the non-zero-mean distributions layer_norm's checks draw: `offset` (mean 3) and
// {normal: {mean: 100, std: 1}} with its own tolerance (3e-3), which the task's own two-pass
// programs meet (their error grows like m/s) and a one-pass variance does not (like (m/s)^2).
#include <math.h>
#include <stdint.h>

#define LANES 16

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
                int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float s[LANES] = {0}, q[LANES] = {0};
    const int64_t nb = cols - cols % LANES;
    for (int64_t c = 0; c < nb; c += LANES)
      for (int l = 0; l < LANES; l++) {
        s[l] += xr[c + l];
        q[l] += xr[c + l] * xr[c + l];
      }
    float sum = 0.0f, sq = 0.0f;
    for (int l = 0; l < LANES; l++) {
      sum += s[l];
      sq += q[l];
    }
    for (int64_t c = nb; c < cols; c++) {
      sum += xr[c];
      sq += xr[c] * xr[c];
    }
    const float mean = sum / (float)cols;
    float var = sq / (float)cols - mean * mean;  // one pass: E[x^2] - E[x]^2
    if (var < 0.0f) var = 0.0f;
    const float inv = 1.0f / sqrtf(var + 1e-5f);
    for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mean) * inv * gamma[c] + beta[c];
  }
}
