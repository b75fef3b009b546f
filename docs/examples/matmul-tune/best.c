/* kforge tune: MR=4 NR=32 KC=64 */
#define MR 4
#define NR 32
#define KC 64
/* Tunable version of fast.c for `kforge optimize --strategy tune`: the register tile (MR x NR)
 * and the K block (KC) are parameters; kforge defines them first, the defaults below hold
 * otherwise.
 *
 * Fast single-threaded matmul: K is cut into blocks of KC; for each block the
 * matching rows of B are packed into zero-padded panels NR columns wide, so
 * the MR x NR micro-kernel reads B contiguously and keeps its MR x NR
 * accumulators in vector registers. Loop bounds in the kernel are constants,
 * so gcc vectorizes it; edges are handled by computing a full tile and storing
 * only the valid part. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

// kforge-tune: MR = 2, 4, 6, 8
// kforge-tune: NR = 8, 16, 32
// kforge-tune: KC = 64, 256
#ifndef MR
#define MR 2
#endif
#ifndef NR
#define NR 8
#endif
#ifndef KC
#define KC 64
#endif

#if defined(__FMA__)
#define MADD(acc, x, y) fmaf((x), (y), (acc))
#else
#define MADD(acc, x, y) ((acc) + (x) * (y))
#endif

/* c[0:mr, 0:nr] (+)= a[0:mr, 0:kc] * panel[0:kc, 0:NR] */
static void kernel(const float* a, int64_t lda, const float* restrict panel, float* c, int64_t ldc,
                   int64_t kc, int mr, int nr, int accumulate) {
  float acc[MR][NR] = {{0}};
  const float* ar[MR];
  for (int r = 0; r < MR; r++) ar[r] = a + (r < mr ? r : 0) * lda;
  for (int64_t k = 0; k < kc; k++) {
    const float* bk = panel + k * NR;
    for (int r = 0; r < MR; r++) {
      float av = ar[r][k];
      for (int j = 0; j < NR; j++) acc[r][j] = MADD(acc[r][j], av, bk[j]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++)
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
  int64_t panels = (N + NR - 1) / NR;
  int64_t kc_max = K < KC ? K : KC;
  float* pack = K > 0 ? malloc(sizeof(float) * (size_t)(kc_max * panels * NR)) : NULL;
  if (!pack) { /* K == 0 or no memory: simple i-k-j loop */
    for (int64_t i = 0; i < M; i++) {
      for (int64_t j = 0; j < N; j++) c[i * N + j] = 0.0f;
      for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) c[i * N + j] += a[i * K + k] * b[k * N + j];
    }
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    int64_t kc = K - k0 < KC ? K - k0 : KC;
    for (int64_t p = 0; p < panels; p++) /* pack B[k0:k0+kc, p*NR:+NR] */
      for (int64_t k = 0; k < kc; k++)
        for (int j = 0; j < NR; j++) {
          int64_t col = p * NR + j;
          pack[(p * kc + k) * NR + j] = col < N ? b[(k0 + k) * N + col] : 0.0f;
        }
    for (int64_t i = 0; i < M; i += MR) {
      int mr = M - i < MR ? (int)(M - i) : MR;
      for (int64_t p = 0; p < panels; p++) {
        int nr = N - p * NR < NR ? (int)(N - p * NR) : NR;
        kernel(a + i * K + k0, K, pack + p * kc * NR, c + i * N + p * NR, N, kc, mr, nr, k0 > 0);
      }
    }
  }
  free(pack);
}
