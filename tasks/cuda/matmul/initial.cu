// Initial (naive) CUDA matmul: one thread per element of C, each reading a row of A and a
// column of B straight from global memory (no tiling, no reuse through shared memory).
#include <cuda_runtime.h>

#include <cstdint>

__global__ void matmul_naive(const float* a, const float* b, float* c, int64_t M, int64_t N,
                             int64_t K) {
  const int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int64_t i = (int64_t)blockIdx.y * blockDim.y + threadIdx.y;
  if (i >= M || j >= N) return;
  float acc = 0.0f;
  for (int64_t k = 0; k < K; k++) acc += a[i * K + k] * b[k * N + j];
  c[i * N + j] = acc;
}

extern "C" void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K,
                       cudaStream_t stream) {
  if (M <= 0 || N <= 0) return;
  const dim3 block(16, 16);
  const dim3 grid((unsigned)((N + 15) / 16), (unsigned)((M + 15) / 16));
  matmul_naive<<<grid, block, 0, stream>>>(a, b, c, M, N, K);
}
