// Kernel-only tiled SGEMM: each block computes a 64 x 64 tile of C from 16-deep slices of A and
// B staged in shared memory (A transposed, rows padded against bank conflicts); each of its 256
// threads keeps a 4 x 4 block of C in registers. Far faster than the naive initial program, and
// still well short of cuBLAS (no double buffering, no vector loads, no tensor cores): a starting
// point for search. Every element of C is a sequential fp32 sum over k, so it is deterministic.
// kforge-launch: kernel=sgemm_tiled grid=(N+63)/64,(M+63)/64 block=256
#include <cstdint>

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    sgemm_tiled(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c,
                int64_t M, int64_t N, int64_t K) {
  __shared__ float as[kTileK][kTileM + 4];  // as[k][m] = A[row0 + m][k0 + k]
  __shared__ float bs[kTileK][kTileN + 4];  // bs[k][n] = B[k0 + k][col0 + n]
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t row0 = (int64_t)blockIdx.y * kTileM, col0 = (int64_t)blockIdx.x * kTileN;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
    for (int l = tid; l < kTileM * kTileK; l += kThreads) {
      const int m = l / kTileK, k = l % kTileK;
      const int64_t gi = row0 + m, gk = k0 + k;
      as[k][m] = (gi < M && gk < K) ? a[gi * K + gk] : 0.0f;
    }
    for (int l = tid; l < kTileK * kTileN; l += kThreads) {
      const int k = l / kTileN, n = l % kTileN;
      const int64_t gk = k0 + k, gj = col0 + n;
      bs[k][n] = (gk < K && gj < N) ? b[gk * N + gj] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTileK; ++k) {
      float ar[4], br[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) ar[i] = as[k][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) br[j] = bs[k][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t gi = row0 + ty * 4 + i;
    if (gi >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t gj = col0 + tx * 4 + j;
      if (gj < N) c[gi * N + gj] = acc[i][j];
    }
  }
}
