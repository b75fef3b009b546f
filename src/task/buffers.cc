#include "task/buffers.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "util/parallel.h"
#include "util/splitmix.h"

namespace kf::task {
namespace {

// xoshiro256+ seeded by splitmix64: fast enough to fill tens of MB per trial.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : s_) s = SplitMix64(&seed);
  }
  uint64_t Next() {
    const uint64_t result = s_[0] + s_[3];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = (s_[3] << 45) | (s_[3] >> 19);
    return result;
  }
  // Uniform in (0, 1].
  double Unit() { return (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53; }

 private:
  uint64_t s_[4];
};

template <typename T>
void FillTyped(T* dst, int64_t n, const Distribution& d, Rng& rng) {
  if constexpr (std::is_integral_v<T>) {
    // Integers: uniform in [low, high] for an explicit uniform range, else in [-100, 100].
    const bool explicit_range =
        d.kind == Distribution::Kind::kUniform && d.name.rfind("uniform(", 0) == 0;
    const double lo = explicit_range ? std::ceil(d.a) : -100,
                 hi = explicit_range ? std::floor(d.b) : 100;
    for (int64_t i = 0; i < n; ++i) {
      dst[i] = static_cast<T>(std::min(hi, lo + std::floor((hi - lo + 1) * rng.Unit() - 1e-12)));
    }
    return;
  }
  if (d.kind == Distribution::Kind::kUniform) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(d.a + (d.b - d.a) * rng.Unit());
    return;
  }
  for (int64_t i = 0; i < n; i += 2) {  // Box-Muller, two values per pair of uniforms
    const double r = std::sqrt(-2.0 * std::log(rng.Unit()));
    const double th = 2.0 * M_PI * rng.Unit();
    dst[i] = static_cast<T>(d.a + d.b * r * std::cos(th));
    if (i + 1 < n) dst[i + 1] = static_cast<T>(d.a + d.b * r * std::sin(th));
  }
}

// IEEE half and bfloat16 from and to float, rounding to nearest even.
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal
    return sign ? -f : f;
  }
  const uint32_t bits =
      exp == 0x1F ? sign | 0x7F800000 | (mant << 13) : sign | ((exp + 112) << 23) | (mant << 13);
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7E00;
  if (a >= 65520.0f) return sign | 0x7C00;  // rounds to infinity
  if (a < 6.103515625e-05f) {               // subnormal half: multiples of 2^-24
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  uint32_t bits;
  std::memcpy(&bits, &a, 4);
  const uint32_t rounded = bits + 0xFFF + ((bits >> 13) & 1);  // nearest even at bit 13
  return sign | static_cast<uint16_t>(((rounded >> 13) - (112u << 10)) & 0x7FFF);
}

float BF16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((x >> 16) | 0x40);
  return static_cast<uint16_t>((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

double ElementAsDouble(const void* p, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kF16:
      return HalfToFloat(static_cast<const uint16_t*>(p)[i]);
    case DType::kBF16:
      return BF16ToFloat(static_cast<const uint16_t*>(p)[i]);
    case DType::kF32:
      return static_cast<const float*>(p)[i];
    case DType::kF64:
      return static_cast<const double*>(p)[i];
    case DType::kI32:
      return static_cast<const int32_t*>(p)[i];
    case DType::kI64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DType::kBool:
      return static_cast<const uint8_t*>(p)[i];
  }
  return 0;
}

}  // namespace

void FillRandom(void* dst, DType dtype, int64_t n, const Distribution& dist, uint64_t seed) {
  const Distribution& d = dist;
  // Fixed-size chunks, each with its own stream: the values do not depend on how many threads
  // fill them, and large GPU-sized inputs fill in parallel.
  constexpr int64_t kChunk = int64_t{1} << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  auto fill_chunk = [&](int64_t c) {
    Rng rng(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(c + 1)));
    const int64_t begin = c * kChunk, count = std::min(kChunk, n - begin);
    const size_t at = static_cast<size_t>(begin) * DTypeSize(dtype);
    unsigned char* p = static_cast<unsigned char*>(dst) + at;
    switch (dtype) {
      case DType::kF32:
        return FillTyped(reinterpret_cast<float*>(p), count, d, rng);
      case DType::kF64:
        return FillTyped(reinterpret_cast<double*>(p), count, d, rng);
      case DType::kI32:
        return FillTyped(reinterpret_cast<int32_t*>(p), count, d, rng);
      case DType::kI64:
        return FillTyped(reinterpret_cast<int64_t*>(p), count, d, rng);
      case DType::kBool:
        // Whatever the distribution: 0 or 1, evenly.
        for (int64_t i = 0; i < count; ++i) p[i] = static_cast<unsigned char>(rng.Next() & 1);
        return;
      case DType::kF16:
      case DType::kBF16: {
        // Drawn as float, then rounded.
        std::vector<float> values(static_cast<size_t>(count));
        FillTyped(values.data(), count, d, rng);
        auto* out = reinterpret_cast<uint16_t*>(p);
        for (int64_t i = 0; i < count; ++i) {
          out[i] = dtype == DType::kF16 ? FloatToHalf(values[i]) : FloatToBF16(values[i]);
        }
        return;
      }
    }
  };
  ParallelChunks(static_cast<size_t>(chunks),
                 [&](size_t c) { fill_chunk(static_cast<int64_t>(c)); });
}

void Poison(void* dst, DType dtype, int64_t n, int variant) {
  const int64_t per_chunk = static_cast<int64_t>(kParallelChunkBytes / DTypeSize(dtype));
  if (n > per_chunk) {
    const size_t chunks = static_cast<size_t>((n + per_chunk - 1) / per_chunk);
    ParallelChunks(chunks, [&](size_t c) {
      const int64_t begin = static_cast<int64_t>(c) * per_chunk;
      Poison(static_cast<char*>(dst) + begin * DTypeSize(dtype), dtype,
             std::min(per_chunk, n - begin), variant);
    });
    return;
  }
  switch (dtype) {
    case DType::kF32: {
      float* p = static_cast<float*>(dst);
      for (int64_t i = 0; i < n; ++i) p[i] = std::numeric_limits<float>::quiet_NaN();
      return;
    }
    case DType::kF64: {
      double* p = static_cast<double*>(dst);
      for (int64_t i = 0; i < n; ++i) p[i] = std::numeric_limits<double>::quiet_NaN();
      return;
    }
    case DType::kI32:
    case DType::kI64:
    case DType::kBool:  // neither 0 nor 1: a bool left unwritten reads wrong
      std::memset(dst, variant ? 0xA5 : 0x5A, static_cast<size_t>(n) * DTypeSize(dtype));
      return;
    case DType::kF16:
    case DType::kBF16: {
      const uint16_t nan = dtype == DType::kF16 ? 0x7E00 : 0x7FC0;
      uint16_t* p = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) p[i] = nan;
      return;
    }
  }
}

void ToReferenceType(const void* src, DType dtype, int64_t n, void* dst) {
  if (!IsFloat(dtype)) {
    std::memcpy(dst, src, static_cast<size_t>(n) * DTypeSize(dtype));
    return;
  }
  double* out = static_cast<double*>(dst);
  for (int64_t i = 0; i < n; ++i) out[i] = ElementAsDouble(src, dtype, i);
}

namespace {

// What one stretch of a comparison found; stretches merge in order.
struct ScanPart {
  double diff_sq = 0, ref_sq = 0, worst_excess = -1;
  int64_t worst_index = -1, nonfinite_index = -1, bad = 0;
  bool zeros_pass = true;
};

ScanPart ScanOutput(const void* got, const void* ref, DType dtype, DType ref_type, int64_t begin,
                    int64_t end, const Tolerance& tol) {
  ScanPart p;
  for (int64_t i = begin; i < end; ++i) {
    const double g = ElementAsDouble(got, dtype, i);
    const double r = ElementAsDouble(ref, ref_type, i);
    const double allowed = tol.atol + tol.rtol * std::fabs(r);
    if (std::fabs(r) > allowed) p.zeros_pass = false;
    if (!std::isfinite(g) && std::isfinite(r)) {
      ++p.bad;
      if (p.nonfinite_index < 0) p.nonfinite_index = i;
      continue;
    }
    if (!std::isfinite(r)) {
      if (!(std::isnan(r) ? std::isnan(g) : g == r)) {
        ++p.bad;
        if (p.worst_excess < INFINITY) {
          p.worst_excess = INFINITY;
          p.worst_index = i;
        }
      }
      continue;
    }
    const double err = std::fabs(g - r);
    p.diff_sq += err * err;
    p.ref_sq += r * r;
    if (err > allowed) ++p.bad;
    if (err - allowed > p.worst_excess) {
      p.worst_excess = err - allowed;
      p.worst_index = i;
    }
  }
  return p;
}

}  // namespace

Mismatch CompareOutput(const void* got, const void* ref, DType dtype, int64_t n,
                       const Tolerance& tol, std::optional<DType> ref_dtype) {
  const DType ref_type = ref_dtype.value_or(ReferenceDType(dtype));
  // Fixed stretches of 4 Mi elements, on the host's cores: the sums are the same everywhere.
  constexpr int64_t kStretch = int64_t{1} << 22;
  const size_t stretches = static_cast<size_t>((n + kStretch - 1) / kStretch);
  std::vector<ScanPart> parts(stretches);
  ParallelChunks(stretches, [&](size_t c) {
    const int64_t begin = static_cast<int64_t>(c) * kStretch;
    parts[c] = ScanOutput(got, ref, dtype, ref_type, begin, std::min(n, begin + kStretch), tol);
  });
  Mismatch m;
  double diff_sq = 0, ref_sq = 0, worst_excess = -1;
  bool zeros_pass = true;
  int64_t nonfinite_index = -1;
  for (const ScanPart& p : parts) {
    diff_sq += p.diff_sq;
    ref_sq += p.ref_sq;
    m.bad_elements += p.bad;
    zeros_pass = zeros_pass && p.zeros_pass;
    if (nonfinite_index < 0) nonfinite_index = p.nonfinite_index;
    if (p.worst_excess > worst_excess) {
      worst_excess = p.worst_excess;
      m.index = p.worst_index;
    }
  }
  m.rel_norm = ref_sq > 0 ? std::sqrt(diff_sq / ref_sq) : (diff_sq > 0 ? INFINITY : 0);
  m.zeros_would_pass = zeros_pass && (ref_sq == 0 || 1.0 <= tol.rel_norm);
  if (nonfinite_index >= 0) m.index = nonfinite_index;
  if (m.index >= 0) {
    m.got = ElementAsDouble(got, dtype, m.index);
    m.expected = ElementAsDouble(ref, ref_type, m.index);
    m.abs_err = std::fabs(m.got - m.expected);
    m.allowed = tol.atol + tol.rtol * std::fabs(m.expected);
  }
  if (nonfinite_index >= 0) {
    m.pass = false;
    m.reason = std::to_string(m.bad_elements) + " of " + std::to_string(n) +
               " elements are NaN or Inf where the reference is finite (NaN is the poison written "
               "before the call: unwritten elements stay NaN)";
  } else if (m.bad_elements > 0) {
    m.pass = false;
    m.reason = std::to_string(m.bad_elements) + " of " + std::to_string(n) +
               " elements exceed the tolerance |out - ref| <= atol + rtol * |ref|";
  } else if (m.rel_norm > tol.rel_norm) {
    m.pass = false;
    m.reason = "relative error norm " + std::to_string(m.rel_norm) + " exceeds " +
               std::to_string(tol.rel_norm);
  }
  return m;
}

std::string IndexToString(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    const int64_t extent = shape[d] > 0 ? shape[d] : 1;
    idx[d] = flat % extent;
    flat /= extent;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

int64_t FirstDifference(const void* a, const void* b, DType dtype, int64_t n) {
  const size_t es = DTypeSize(dtype);
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  // The first differing 64 MiB chunk, found on the host's cores, then the element in it.
  const size_t bytes = static_cast<size_t>(n) * es;
  const size_t chunks = (bytes + kParallelChunkBytes - 1) / kParallelChunkBytes;
  std::atomic<size_t> first{chunks};
  ParallelChunks(chunks, [&](size_t c) {
    const size_t at = c * kParallelChunkBytes;
    if (c < first && std::memcmp(pa + at, pb + at, std::min(kParallelChunkBytes, bytes - at))) {
      for (size_t f = first; c < f && !first.compare_exchange_weak(f, c);) {
      }
    }
  });
  if (first == chunks) return -1;
  for (int64_t i = static_cast<int64_t>(first * kParallelChunkBytes / es); i < n; ++i) {
    if (std::memcmp(pa + i * es, pb + i * es, es) != 0) return i;
  }
  return -1;
}

}  // namespace kf::task
