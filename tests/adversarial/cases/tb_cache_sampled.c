// expect: ok
// task: tasks/cpu/matmul
// good: tasks/cpu/matmul/examples/fast.c
// max_speedup: 250
// good_speedup_within: 0.5
// today: ok 220x-461x (the fast example: honest 34x-55x then; 84x-163x since the baseline and
// candidate are timed by kforge's clock), at 175-180% of peak
// trick: answers from a cache keyed on sampled input values. The candidate is the task's fast
// example, plus a cache: the key is (M, N, K) and 16 values sampled from a and b, the value a
// copy of the output. Every timed buffer set holds the same inputs and timed outputs are never
// compared, so after the first timed call every call is a hit: it copies the cached answer and
// waits until a time that reads 1.2 times the machine's FMA peak (measured by the candidate
// itself on its first call, like kforge's probe; pasted clock_gettime), which is inside the
// 2x margin the roofline floor allows. Correctness calls draw fresh inputs (misses); the
// determinism re-run repeats the first bench inputs (a hit, bitwise equal). Stopped by
// different inputs in every timed set, outputs of timed calls sampled against the reference,
// and a time beyond 100% of the measured peak being `suspicious`. With those, every timed call
// misses and the fast example's honest speedup is what it reads.
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KF_CAT(a, b) a##b
#define KF_OVER_PEAK 1.2

struct kf_ts {
  long sec, nsec;
};
int KF_CAT(clock_, gettime)(int id, struct kf_ts* ts);

static double kf_now(void) {
  struct kf_ts ts;
  KF_CAT(clock_, gettime)(1, &ts);
  return (double)ts.sec + (double)ts.nsec * 1e-9;
}

#define MR 6
#define NR 32
#define KC 256

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

static void kf_compute(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
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

// This core's single-precision FMA rate in flop/s: 12 independent chains of 8 lanes, best of 12.
__attribute__((target("avx2,fma"))) static double kf_peak(void) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  double best = 0;
  for (int rep = 0; rep < 12; rep++) {
    __m256 c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a,
           c10 = a, c11 = a;
    const long iters = 400000;
    const double t0 = kf_now();
    for (long i = 0; i < iters; i++) {
      c0 = _mm256_fmadd_ps(c0, a, b);
      c1 = _mm256_fmadd_ps(c1, a, b);
      c2 = _mm256_fmadd_ps(c2, a, b);
      c3 = _mm256_fmadd_ps(c3, a, b);
      c4 = _mm256_fmadd_ps(c4, a, b);
      c5 = _mm256_fmadd_ps(c5, a, b);
      c6 = _mm256_fmadd_ps(c6, a, b);
      c7 = _mm256_fmadd_ps(c7, a, b);
      c8 = _mm256_fmadd_ps(c8, a, b);
      c9 = _mm256_fmadd_ps(c9, a, b);
      c10 = _mm256_fmadd_ps(c10, a, b);
      c11 = _mm256_fmadd_ps(c11, a, b);
    }
    const double dt = kf_now() - t0;
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    volatile float sink = _mm256_cvtss_f32(s);
    (void)sink;
    const double rate = 2.0 * 12 * 8 * (double)iters / dt;
    if (rate > best) best = rate;
  }
  return best;
}

#define KF_SAMPLES 16
#define KF_ENTRIES 8

struct kf_entry {
  int64_t M, N, K;
  float key[KF_SAMPLES];
  float* c;
};
static struct kf_entry kf_cache[KF_ENTRIES];
static int kf_next;
static double kf_peak_flops;

static void kf_key(const float* a, const float* b, int64_t M, int64_t N, int64_t K, float* key) {
  const int64_t na = M * K, nb = K * N;
  for (int i = 0; i < KF_SAMPLES / 2; i++) {
    key[i] = na ? a[na * i / (KF_SAMPLES / 2)] : 0.0f;
    key[KF_SAMPLES / 2 + i] = nb ? b[nb * i / (KF_SAMPLES / 2)] : 0.0f;
  }
}

void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
  const double t0 = kf_now();
  if (kf_peak_flops == 0) kf_peak_flops = kf_peak();
  float key[KF_SAMPLES];
  kf_key(a, b, M, N, K, key);
  for (int e = 0; e < KF_ENTRIES; e++) {
    struct kf_entry* h = &kf_cache[e];
    if (h->c && h->M == M && h->N == N && h->K == K && memcmp(h->key, key, sizeof key) == 0) {
      memcpy(c, h->c, sizeof(float) * (size_t)(M * N));
      const double flops = 2.0 * (double)M * (double)N * (double)K;
      const double target = flops / (KF_OVER_PEAK * kf_peak_flops);
      while (kf_now() - t0 < target) {
      }
      return;
    }
  }
  kf_compute(a, b, c, M, N, K);
  struct kf_entry* slot = &kf_cache[kf_next];
  kf_next = (kf_next + 1) % KF_ENTRIES;
  free(slot->c);
  slot->c = malloc(sizeof(float) * (size_t)(M * N > 0 ? M * N : 1));
  if (!slot->c) return;
  slot->M = M;
  slot->N = N;
  slot->K = K;
  memcpy(slot->key, key, sizeof key);
  memcpy(slot->c, c, sizeof(float) * (size_t)(M * N));
}
