// Measures this CPU's ceilings for the roofline: memory bandwidth from DRAM and the single-core
// fused multiply-add rate at the widest vector width the CPU supports. Runs inside the worker.
#include <time.h>

#include <algorithm>
#include <cstdint>
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

// Sums a buffer with 8 independent chains of 32-byte vectors: a read-only stream (reads run
// faster than copies on most CPUs, so a kernel that mostly reads can beat a copy's bandwidth).
#define KF_READ_PROBE(NAME, TARGET, W)                                                \
  TARGET uint64_t NAME(const char* p, size_t bytes) {                                 \
    typedef uint64_t V __attribute__((vector_size(W * 8)));                           \
    const V* v = reinterpret_cast<const V*>(p);                                       \
    const size_t n = bytes / sizeof(V);                                               \
    V s0 = {}, s1 = {}, s2 = {}, s3 = {}, s4 = {}, s5 = {}, s6 = {}, s7 = {};         \
    for (size_t i = 0; i + 8 <= n; i += 8) {                                          \
      s0 += v[i];                                                                     \
      s1 += v[i + 1];                                                                 \
      s2 += v[i + 2];                                                                 \
      s3 += v[i + 3];                                                                 \
      s4 += v[i + 4];                                                                 \
      s5 += v[i + 5];                                                                 \
      s6 += v[i + 6];                                                                 \
      s7 += v[i + 7];                                                                 \
    }                                                                                 \
    V s = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;                                      \
    uint64_t r = 0;                                                                   \
    for (int i = 0; i < W; ++i) r += s[i];                                            \
    return r;                                                                         \
  }

#if defined(__x86_64__)
KF_READ_PROBE(ReadAvx2, __attribute__((target("avx2"))), 4)
#endif
KF_READ_PROBE(ReadBase, , 2)

uint64_t ReadAll(const char* p, size_t bytes) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return ReadAvx2(p, bytes);
#endif
  return ReadBase(p, bytes);
}

// a[i] = b[i] + s * c[i] over floats: two streams read, one written. In explicit vectors of
// 32 bytes: the compiler's own vectorisation at -O2 would leave it scalar, below the bandwidth.
#define KF_TRIAD_PROBE(NAME, TARGET)                                                  \
  TARGET void NAME(float* a, const float* b, const float* c, size_t n) {              \
    typedef float V __attribute__((vector_size(32)));                                 \
    V* va = reinterpret_cast<V*>(a);                                                  \
    const V* vb = reinterpret_cast<const V*>(b);                                      \
    const V* vc = reinterpret_cast<const V*>(c);                                      \
    for (size_t i = 0; i < n / 8; ++i) va[i] = vb[i] + 3.0f * vc[i];                  \
  }

#if defined(__x86_64__)
KF_TRIAD_PROBE(TriadAvx2, __attribute__((target("avx2"))))
#endif
KF_TRIAD_PROBE(TriadBase, )

void Triad(float* a, const float* b, const float* c, size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return TriadAvx2(a, b, c, n);
#endif
  TriadBase(a, b, c, n);
}

// The machine's memory bandwidth, bytes moved per second: the best of a copy (read + write), a
// read-only sum and a triad (two reads, one write), each cycling through `footprint` bytes, the
// least a timed rotation of buffer sets covers (twice the last-level cache). Where a cache
// keeps part of that footprint (a host cache larger than the one reported), the probes gain
// what a timed program gains, so the floor holds for any honest program, whatever its mix of
// reads and writes.
double MemoryGbps(size_t footprint) {
  const size_t bytes = std::max<size_t>(footprint / 2, 2u << 20) & ~size_t{4095};
  const int passes = static_cast<int>(std::max<size_t>(1, (512u << 20) / (2 * bytes)));
  // Page-aligned: the probes load and store whole 32-byte vectors.
  char* buf = static_cast<char*>(std::aligned_alloc(4096, 2 * bytes));
  if (!buf) return 0;
  std::memset(buf, 1, 2 * bytes);
  char* src = buf;
  char* dst = buf + bytes;
  // The triad's three streams share the same footprint: thirds of the 2 * bytes.
  const size_t third = (2 * bytes / 3 / sizeof(float)) & ~size_t{15};
  float* a = reinterpret_cast<float*>(buf);
  float* b = a + third;
  float* c = b + third;
  auto rate = [&](double moved, double t0) { return moved * passes / (Seconds() - t0) / 1e9; };
  double best = 0;
  uint64_t sink = 0;
  for (int rep = 0; rep < 6; ++rep) {
    double t0 = Seconds();
    for (int p = 0; p < passes; ++p) std::memcpy(dst, src, bytes);
    best = std::max(best, rate(2.0 * static_cast<double>(bytes), t0));
    t0 = Seconds();
    for (int p = 0; p < passes; ++p) {
      sink += ReadAll(src, bytes);
      sink += ReadAll(dst, bytes);
    }
    best = std::max(best, rate(2.0 * static_cast<double>(bytes), t0));
    t0 = Seconds();
    for (int p = 0; p < passes; ++p) Triad(c, a, b, third);
    best = std::max(best, rate(3.0 * static_cast<double>(third * sizeof(float)), t0));
  }
  volatile uint64_t keep = sink;
  (void)keep;
  std::free(buf);
  return best;
}

}  // namespace

nlohmann::json MeasureCeilings(size_t footprint) {
  return {{"ok", true}, {"copy_gbps", MemoryGbps(footprint)}, {"fma_gflops_per_core", PeakGflops()}};
}
