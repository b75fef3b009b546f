// Measures this CPU's ceilings for the roofline: copy bandwidth from DRAM and the single-core
// fused multiply-add rate at the widest vector width the CPU supports. Runs inside the worker.
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

namespace {

double Seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// 12 independent FMA chains of W floats, in named variables so they stay in registers (an array
// of accumulators is kept in memory and halves the rate); returns GFLOP/s.
#define KF_FMA_PROBE(NAME, TARGET, W)                                                 \
  TARGET double NAME(long iters) {                                                    \
    typedef float V __attribute__((vector_size(W * 4)));                              \
    V a, b;                                                                           \
    for (int i = 0; i < W; ++i) {                                                     \
      a[i] = 0.999999f;                                                               \
      b[i] = 1e-7f;                                                                   \
    }                                                                                 \
    V c0 = a, c1 = a * 2, c2 = a * 3, c3 = a * 4, c4 = a * 5, c5 = a * 6, c6 = a * 7; \
    V c7 = a * 8, c8 = a * 9, c9 = a * 10, c10 = a * 11, c11 = a * 12;                \
    const double t0 = Seconds();                                                      \
    for (long it = 0; it < iters; ++it) {                                             \
      c0 = c0 * a + b;                                                                \
      c1 = c1 * a + b;                                                                \
      c2 = c2 * a + b;                                                                \
      c3 = c3 * a + b;                                                                \
      c4 = c4 * a + b;                                                                \
      c5 = c5 * a + b;                                                                \
      c6 = c6 * a + b;                                                                \
      c7 = c7 * a + b;                                                                \
      c8 = c8 * a + b;                                                                \
      c9 = c9 * a + b;                                                                \
      c10 = c10 * a + b;                                                              \
      c11 = c11 * a + b;                                                              \
    }                                                                                 \
    const double dt = Seconds() - t0;                                                 \
    V sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;              \
    volatile float sink = sum[0];                                                     \
    (void)sink;                                                                       \
    return 2.0 * 12 * W * static_cast<double>(iters) / dt / 1e9;                      \
  }

#if defined(__x86_64__)
KF_FMA_PROBE(FmaAvx512, __attribute__((target("avx512f"))), 16)
KF_FMA_PROBE(FmaAvx2, __attribute__((target("avx2,fma"))), 8)
#endif
KF_FMA_PROBE(FmaBase, , 4)

double PeakGflops() {
  const long iters = 400000;
  double best = 0;
  for (int rep = 0; rep < 12; ++rep) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
      best = std::max(best, FmaAvx512(iters));
      continue;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      best = std::max(best, FmaAvx2(iters));
      continue;
    }
#endif
    best = std::max(best, FmaBase(iters));
  }
  return best;
}

// Best of several copies of a buffer far larger than the last-level cache; counts read + write.
double CopyGbps() {
  const size_t bytes = 256u << 20;
  char* src = static_cast<char*>(std::malloc(bytes));
  char* dst = static_cast<char*>(std::malloc(bytes));
  if (!src || !dst) {
    std::free(src);
    std::free(dst);
    return 0;
  }
  std::memset(src, 1, bytes);
  std::memset(dst, 2, bytes);
  double best = 0;
  for (int rep = 0; rep < 6; ++rep) {
    const double t0 = Seconds();
    std::memcpy(dst, src, bytes);
    const double dt = Seconds() - t0;
    best = std::max(best, 2.0 * static_cast<double>(bytes) / dt / 1e9);
    std::swap(src, dst);
  }
  std::free(src);
  std::free(dst);
  return best;
}

}  // namespace

nlohmann::json MeasureCeilings() {
  return {{"ok", true}, {"copy_gbps", CopyGbps()}, {"fma_gflops_per_core", PeakGflops()}};
}
