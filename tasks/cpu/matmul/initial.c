/* Initial (naive) matmul: textbook i-j-k triple loop. Correct, but the inner
 * loop walks down a column of B (stride N floats), so almost every load
 * misses the cache and nothing vectorizes. */
#include <stdint.h>

void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      float sum = 0.0f;
      for (int64_t k = 0; k < K; k++) sum += a[i * K + k] * b[k * N + j];
      c[i * N + j] = sum;
    }
}
