#include <stdint.h>

/* C[M,N] = A[M,K] @ B[K,N], row-major. i-k-j order so B and C rows stream
   contiguously; each output row accumulates in double. */
void forward(const float* A, const float* B, float* C, int64_t M, int64_t K, int64_t N) {
  double acc[N];
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) acc[j] = 0.0;
    const float* a = A + i * K;
    for (int64_t k = 0; k < K; ++k) {
      const double aik = a[k];
      const float* b = B + k * N;
      for (int64_t j = 0; j < N; ++j) acc[j] += aik * (double)b[j];
    }
    float* c = C + i * N;
    for (int64_t j = 0; j < N; ++j) c[j] = (float)acc[j];
  }
}
