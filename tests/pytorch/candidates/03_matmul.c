#include <stdint.h>

/* C[M,N] = A[M,K] @ B[K,N], row-major. i-k-j order: B and C rows stream
   contiguously and the j loop vectorizes. Each output row accumulates in
   float over chunks of 32 k, folded into double sums after each chunk. */
void forward(const float* A, const float* B, float* C, int64_t M, int64_t K, int64_t N) {
  double accd[N];
  float accf[N];
  for (int64_t i = 0; i < M; ++i) {
    const float* a = A + i * K;
    for (int64_t j = 0; j < N; ++j) accd[j] = 0.0;
    for (int64_t k0 = 0; k0 < K; k0 += 32) {
      const int64_t k1 = k0 + 32 < K ? k0 + 32 : K;
      for (int64_t j = 0; j < N; ++j) accf[j] = 0.0f;
      for (int64_t k = k0; k < k1; ++k) {
        const float aik = a[k];
        const float* b = B + k * N;
        for (int64_t j = 0; j < N; ++j) accf[j] += aik * b[j];
      }
      for (int64_t j = 0; j < N; ++j) accd[j] += (double)accf[j];
    }
    float* c = C + i * N;
    for (int64_t j = 0; j < N; ++j) c[j] = (float)accd[j];
  }
}
