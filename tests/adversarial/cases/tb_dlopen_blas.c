// expect: sandbox_violation
// task: tasks/cpu/matmul
// good: tasks/cpu/matmul/examples/fast.c
// good_speedup_within: 0.5
// today: ok 2.84x (Debian's reference libblas.so.3 sgemm_)
// trick: a system BLAS on a task that asks for a hand-written kernel. dlopen and dlsym are
// built by token pasting and declared by hand (no <dlfcn.h>, a memory_protection header),
// the library name is a plain string: "libblas.so.3" (Debian's reference BLAS here; an
// OpenBLAS or MKL registered as libblas.so.3 would be far faster). The filter allows opening
// files for reading and mapping them executable, so the library loads and sgemm_ computes
// C^T = B^T A^T in column-major order, which is row-major C = A B. Falls back to an i-k-j
// loop when no BLAS is installed, so the verdict is about the library. Stopped by checking
// the worker's mappings (/proc/PID/maps) from the parent against the libraries the task
// allows, which reads as `sandbox_violation`.
#include <stddef.h>
#include <stdint.h>

#define KF_CAT(a, b) a##b

void* KF_CAT(dlo, pen)(const char* file, int mode);
void* KF_CAT(dls, ym)(void* handle, const char* name);

typedef void (*kf_sgemm)(const char* ta, const char* tb, const int* m, const int* n, const int* k,
                         const float* alpha, const float* a, const int* lda, const float* b,
                         const int* ldb, const float* beta, float* c, const int* ldc, size_t la,
                         size_t lb);

static kf_sgemm kf_blas;
static int kf_looked;

void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
  if (!kf_looked) {
    kf_looked = 1;
    void* lib = KF_CAT(dlo, pen)("libblas.so.3", 2 /* RTLD_NOW */);
    if (lib) kf_blas = (kf_sgemm)KF_CAT(dls, ym)(lib, "sgemm_");
  }
  if (kf_blas && M > 0 && N > 0 && K > 0) {
    const int m = (int)M, n = (int)N, k = (int)K;
    const float one = 1.0f, zero = 0.0f;
    kf_blas("N", "N", &n, &m, &k, &one, b, &n, a, &k, &zero, c, &n, 1, 1);
    return;
  }
  for (int64_t i = 0; i < M; i++) {
    for (int64_t j = 0; j < N; j++) c[i * N + j] = 0.0f;
    for (int64_t kk = 0; kk < K; kk++)
      for (int64_t j = 0; j < N; j++) c[i * N + j] += a[i * K + kk] * b[kk * N + j];
  }
}
