/* Reference for matmul: C = A * B in double precision (reference ABI: the
 * f32 buffers arrive as double). Loop order i-k-j, rows spread over the
 * host's cores (kforge builds references with OpenMP); each C element is
 * still a plain sum over k in order, whatever the thread count. */
#include <stdint.h>

void matmul(const double* a, const double* b, double* c, int64_t M, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < M; i++) {
    for (int64_t j = 0; j < N; j++) c[i * N + j] = 0.0;
    for (int64_t k = 0; k < K; k++) {
      double aik = a[i * K + k];
      for (int64_t j = 0; j < N; j++) c[i * N + j] += aik * b[k * N + j];
    }
  }
}
