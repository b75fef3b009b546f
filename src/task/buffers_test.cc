#include "task/buffers.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace kf::task {
namespace {

::testing::AssertionResult HasSubstr(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

const Tolerance kF32Tol = {1e-5, 1e-5, 1e-5};

// A float output and its double reference, equal element for element.
struct Pair {
  std::vector<float> got;
  std::vector<double> ref;
};

Pair Ramp(int n) {
  Pair p;
  for (int i = 0; i < n; ++i) {
    p.got.push_back(0.5f + 0.25f * static_cast<float>(i));
    p.ref.push_back(p.got.back());
  }
  return p;
}

Mismatch Compare(const Pair& p, const Tolerance& tol) {
  return CompareOutput(p.got.data(), p.ref.data(), DType::kF32, static_cast<int64_t>(p.got.size()),
                       tol);
}

TEST(BuffersCompareOutputTest, ExactMatchPasses) {
  const Pair p = Ramp(100);
  const Mismatch m = Compare(p, kF32Tol);
  EXPECT_TRUE(m.pass);
  EXPECT_TRUE(m.reason.empty());
  EXPECT_EQ(m.bad_elements, 0);
  EXPECT_EQ(m.rel_norm, 0);
  EXPECT_FALSE(m.zeros_would_pass);
}

TEST(BuffersCompareOutputTest, ExactMatchPassesForIntegers) {
  const std::vector<int32_t> v = {1, -2, 3, 40000, -7};
  const Mismatch m = CompareOutput(v.data(), v.data(), DType::kI32, 5, {0, 0, 0});
  EXPECT_TRUE(m.pass);
  std::vector<int32_t> w = v;
  w[3] += 1;
  const Mismatch bad = CompareOutput(w.data(), v.data(), DType::kI32, 5, {0, 0, 0});
  EXPECT_FALSE(bad.pass);
  EXPECT_EQ(bad.index, 3);
}

TEST(BuffersCompareOutputTest, NanWhereReferenceFiniteFails) {
  Pair p = Ramp(50);
  p.got[17] = std::numeric_limits<float>::quiet_NaN();
  const Mismatch m = Compare(p, kF32Tol);
  EXPECT_FALSE(m.pass);
  EXPECT_EQ(m.index, 17);
  EXPECT_EQ(m.bad_elements, 1);
  EXPECT_TRUE(std::isnan(m.got));
  EXPECT_DOUBLE_EQ(m.expected, p.ref[17]);
  EXPECT_TRUE(HasSubstr(m.reason, "NaN"));
}

TEST(BuffersCompareOutputTest, InfWhereReferenceFiniteFails) {
  Pair p = Ramp(10);
  p.got[2] = std::numeric_limits<float>::infinity();
  const Mismatch m = Compare(p, kF32Tol);
  EXPECT_FALSE(m.pass);
  EXPECT_EQ(m.index, 2);
}

TEST(BuffersCompareOutputTest, OneElementOverToleranceReportsIt) {
  Pair p = Ramp(200);
  p.got[123] += 0.01f;
  const Mismatch m = Compare(p, kF32Tol);
  EXPECT_FALSE(m.pass);
  EXPECT_EQ(m.index, 123);
  EXPECT_EQ(m.bad_elements, 1);
  EXPECT_DOUBLE_EQ(m.got, static_cast<double>(p.got[123]));
  EXPECT_DOUBLE_EQ(m.expected, p.ref[123]);
  EXPECT_NEAR(m.abs_err, 0.01, 1e-5);
  EXPECT_DOUBLE_EQ(m.allowed, kF32Tol.atol + kF32Tol.rtol * std::fabs(p.ref[123]));
  EXPECT_TRUE(HasSubstr(m.reason, "1 of 200"));
}

TEST(BuffersCompareOutputTest, ElementWithinToleranceStillPasses) {
  Pair p = Ramp(20);
  p.ref[5] += 5e-6;  // inside atol + rtol * |ref|
  const Mismatch m = Compare(p, kF32Tol);
  EXPECT_TRUE(m.pass) << m.reason;
}

TEST(BuffersCompareOutputTest, RelNormViolation) {
  // Every element is off by 1e-4 relative: inside rtol 1e-3 element by element, but the error
  // norm is 1e-4 of the reference's norm, above rel_norm 1e-5.
  std::vector<double> got, ref;
  for (int i = 0; i < 64; ++i) {
    ref.push_back(1.0 + i);
    got.push_back(ref.back() * (1 + 1e-4));
  }
  const Mismatch m = CompareOutput(got.data(), ref.data(), DType::kF64, 64, {0, 1e-3, 1e-5});
  EXPECT_FALSE(m.pass);
  EXPECT_EQ(m.bad_elements, 0);
  EXPECT_NEAR(m.rel_norm, 1e-4, 1e-9);
  EXPECT_TRUE(HasSubstr(m.reason, "relative error norm"));
}

TEST(BuffersCompareOutputTest, ZerosWouldPassForTinyReference) {
  std::vector<float> got(32, 0.0f);
  std::vector<double> ref(32, 1e-12);
  const Mismatch m = CompareOutput(got.data(), ref.data(), DType::kF32, 32, {1e-6, 0, 2});
  EXPECT_TRUE(m.zeros_would_pass);
  const Mismatch all_zero_ref =
      CompareOutput(got.data(), std::vector<double>(32, 0.0).data(), DType::kF32, 32, kF32Tol);
  EXPECT_TRUE(all_zero_ref.zeros_would_pass);
}

TEST(BuffersCompareOutputTest, ZerosWouldNotPassNormally) {
  const Pair p = Ramp(32);
  EXPECT_FALSE(Compare(p, kF32Tol).zeros_would_pass);
  // Tiny elements alone are not enough: the rel_norm check still tells zeros apart.
  std::vector<float> got(32, 0.0f);
  std::vector<double> ref(32, 1e-12);
  EXPECT_FALSE(
      CompareOutput(got.data(), ref.data(), DType::kF32, 32, {1e-6, 0, 1e-5}).zeros_would_pass);
}

TEST(BuffersPoisonTest, FloatsBecomeNan) {
  std::vector<float> f(9, 1.0f);
  Poison(f.data(), DType::kF32, 9, 0);
  for (float v : f) EXPECT_TRUE(std::isnan(v));
  std::vector<double> d(9, 1.0);
  Poison(d.data(), DType::kF64, 9, 1);
  for (double v : d) EXPECT_TRUE(std::isnan(v));
}

TEST(BuffersPoisonTest, IntegerVariantsDiffer) {
  for (DType t : {DType::kI32, DType::kI64}) {
    std::vector<int64_t> a(4, 0), b(4, 0);  // room for 4 i64 or 8 i32
    const int64_t n = t == DType::kI32 ? 8 : 4;
    Poison(a.data(), t, n, 0);
    Poison(b.data(), t, n, 1);
    EXPECT_EQ(FirstDifference(a.data(), b.data(), t, n), 0) << DTypeName(t);
    for (int64_t i = 0; i < 4; ++i) {
      EXPECT_NE(a[i], 0);
      EXPECT_NE(b[i], 0);
    }
  }
}

TEST(BuffersPoisonTest, WritesOnlyNElements) {
  std::vector<int32_t> v(6, 7);
  Poison(v.data(), DType::kI32, 4, 0);
  EXPECT_EQ(v[4], 7);
  EXPECT_EQ(v[5], 7);
  EXPECT_NE(v[3], 7);
}

TEST(BuffersFillRandomTest, DeterministicPerSeed) {
  const Distribution normal{"normal", Distribution::Kind::kNormal, 0, 1, std::nullopt};
  std::vector<float> a(1001), b(1001), c(1001);
  FillRandom(a.data(), DType::kF32, 1001, normal, 42);
  FillRandom(b.data(), DType::kF32, 1001, normal, 42);
  FillRandom(c.data(), DType::kF32, 1001, normal, 43);
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF32, 1001), -1);
  EXPECT_NE(FirstDifference(a.data(), c.data(), DType::kF32, 1001), -1);
  int same = 0;
  for (int i = 0; i < 1001; ++i) same += a[i] == c[i];
  EXPECT_LT(same, 10);
}

TEST(BuffersFillRandomTest, DeterministicAcrossChunks) {
  // Over a million elements the fill is split into independently seeded chunks, filled by
  // several threads: still one result per seed, and the chunks do not repeat each other.
  const Distribution uniform{"uniform", Distribution::Kind::kUniform, -1, 1, std::nullopt};
  const int64_t chunk = int64_t{1} << 20, n = 2 * chunk + 3;
  std::vector<float> a(n), b(n);
  FillRandom(a.data(), DType::kF32, n, uniform, 9);
  FillRandom(b.data(), DType::kF32, n, uniform, 9);
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF32, n), -1);
  EXPECT_NE(FirstDifference(a.data(), a.data() + chunk, DType::kF32, 1000), -1);
  for (int64_t i = 2 * chunk; i < n; ++i) {
    EXPECT_GE(a[i], -1.0f);
    EXPECT_LE(a[i], 1.0f);
  }
}

TEST(BuffersFillRandomTest, LargeHasStdNear100) {
  const Distribution large{"large", Distribution::Kind::kNormal, 0, 100, std::nullopt};
  const int64_t n = 100000;
  std::vector<double> v(n);
  FillRandom(v.data(), DType::kF64, n, large, 7);
  double sum = 0, sq = 0;
  for (double x : v) {
    sum += x;
    sq += x * x;
  }
  const double mean = sum / n;
  const double std = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 0, 2);
  EXPECT_NEAR(std, 100, 3);
}

TEST(BuffersFillRandomTest, UniformStaysInRange) {
  const Distribution positive{"positive", Distribution::Kind::kUniform, 0.5, 2, std::nullopt};
  std::vector<float> v(10000);
  FillRandom(v.data(), DType::kF32, 10000, positive, 3);
  for (float x : v) {
    EXPECT_GE(x, 0.5f);
    EXPECT_LE(x, 2.0f);
  }
}

TEST(BuffersFillRandomTest, IntegersDefaultToSmallRange) {
  const Distribution uniform{"uniform", Distribution::Kind::kUniform, -1, 1, std::nullopt};
  std::vector<int32_t> v(10000);
  FillRandom(v.data(), DType::kI32, 10000, uniform, 5);
  int32_t lo = v[0], hi = v[0];
  for (int32_t x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_GE(lo, -100);
  EXPECT_LE(hi, 100);
  EXPECT_LT(lo, -50);  // not just {-1, 0}
  EXPECT_GT(hi, 50);
}

TEST(BuffersToReferenceTypeTest, F32ToDoubleIsExact) {
  const std::vector<float> f = {0.1f,
                                -3.0f,
                                1e-40f,  // subnormal
                                std::numeric_limits<float>::max(),
                                std::numeric_limits<float>::lowest(),
                                -0.0f,
                                std::numeric_limits<float>::infinity()};
  std::vector<double> d(f.size());
  ToReferenceType(f.data(), DType::kF32, static_cast<int64_t>(f.size()), d.data());
  for (size_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(d[i], static_cast<double>(f[i])) << i;
    EXPECT_EQ(std::signbit(d[i]), std::signbit(f[i])) << i;
  }
}

TEST(BuffersToReferenceTypeTest, IntegersAreCopied) {
  const std::vector<int64_t> v = {1, -1, std::numeric_limits<int64_t>::max()};
  std::vector<int64_t> out(3);
  ToReferenceType(v.data(), DType::kI64, 3, out.data());
  EXPECT_EQ(out, v);
}

TEST(BuffersIndexToStringTest, RowMajor) {
  EXPECT_EQ(IndexToString(4, {2, 3}), "[1, 1]");
  EXPECT_EQ(IndexToString(0, {2, 3}), "[0, 0]");
  EXPECT_EQ(IndexToString(5, {2, 3}), "[1, 2]");
  EXPECT_EQ(IndexToString(7, {10}), "[7]");
  EXPECT_EQ(IndexToString(23, {2, 3, 4}), "[1, 2, 3]");
}

TEST(BuffersFirstDifferenceTest, FindsFirstDifferingElement) {
  std::vector<float> a = {1, 2, 3, 4, 5}, b = a;
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF32, 5), -1);
  b[3] = 4.5f;
  b[4] = 0;
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF32, 5), 3);
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF32, 3), -1);
}

TEST(BuffersFirstDifferenceTest, IsBitwise) {
  // -0.0 == 0.0 numerically, but a re-run that flips the sign is not bitwise identical; two NaNs
  // with the same bits are.
  std::vector<double> a = {0.0, std::numeric_limits<double>::quiet_NaN()};
  std::vector<double> b = a;
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF64, 2), -1);
  b[0] = -0.0;
  EXPECT_EQ(FirstDifference(a.data(), b.data(), DType::kF64, 2), 0);
}

}  // namespace
}  // namespace kf::task

namespace kf::task {
namespace {

// Regression: integer ranges were widened to -100..100 and the upper bound was exclusive.
TEST(BuffersFillRandomTest, IntegerUniformRangeIsInclusive) {
  std::vector<int32_t> v(20000);
  const Distribution d{"uniform(low=0,high=4)", Distribution::Kind::kUniform, 0, 4, std::nullopt};
  FillRandom(v.data(), DType::kI32, static_cast<int64_t>(v.size()), d, 7);
  int lo = 100, hi = -100;
  for (int32_t x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 4);
}

}  // namespace
}  // namespace kf::task

namespace kf::task {
namespace {

// Half precision: known encodings read as their values; values written by FillRandom round
// trip; poison is NaN; a large comparison (several parallel stretches) finds the one bad element.
TEST(BuffersHalfTest, KnownEncodingsReadAsTheirValues) {
  const std::vector<uint16_t> half = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555};
  const std::vector<double> want_half = {1.0, -2.0, 65504.0, std::ldexp(1.0, -24), 0.333251953125};
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC000, 0x4049};
  const std::vector<double> want_bf16 = {1.0, -2.0, 3.140625};
  const Tolerance exact{0, 0, 0};
  EXPECT_TRUE(CompareOutput(half.data(), want_half.data(), DType::kF16, 5, exact).pass);
  EXPECT_TRUE(CompareOutput(bf16.data(), want_bf16.data(), DType::kBF16, 3, exact).pass);
}

TEST(BuffersHalfTest, FillRandomRoundsNormalValues) {
  for (DType dt : {DType::kF16, DType::kBF16}) {
    std::vector<uint16_t> v(100000);
    FillRandom(v.data(), dt, static_cast<int64_t>(v.size()),
               Distribution{"normal", Distribution::Kind::kNormal, 0, 1, std::nullopt}, 7);
    std::vector<double> as_double(v.size());
    ToReferenceType(v.data(), dt, static_cast<int64_t>(v.size()), as_double.data());
    double sum = 0, sq = 0;
    for (double x : as_double) {
      ASSERT_TRUE(std::isfinite(x));
      sum += x;
      sq += x * x;
    }
    EXPECT_NEAR(sum / v.size(), 0.0, 0.02);
    EXPECT_NEAR(std::sqrt(sq / v.size()), 1.0, 0.02);
  }
}

TEST(BuffersHalfTest, PoisonIsNanAndZerosFail) {
  std::vector<uint16_t> out(1000);
  std::vector<double> ref(out.size(), 1.5);
  Poison(out.data(), DType::kBF16, 1000, 0);
  EXPECT_FALSE(CompareOutput(out.data(), ref.data(), DType::kBF16, 1000, {2e-2, 2e-2, 2e-2}).pass);
  std::fill(out.begin(), out.end(), 0);  // zeros
  const Mismatch m = CompareOutput(out.data(), ref.data(), DType::kBF16, 1000, {2e-2, 2e-2, 2e-2});
  EXPECT_FALSE(m.pass);
  EXPECT_FALSE(m.zeros_would_pass);
}

TEST(BuffersCompareOutputTest, LargeComparisonFindsTheOneBadElement) {
  const int64_t n = (int64_t{1} << 22) * 3 + 5;  // several stretches compared in parallel
  std::vector<float> got(static_cast<size_t>(n), 2.0f), ref(static_cast<size_t>(n), 2.0f);
  got[static_cast<size_t>(n - 2)] = 3.0f;
  const Mismatch m =
      CompareOutput(got.data(), ref.data(), DType::kF32, n, {1e-5, 1e-5, 1.0}, DType::kF32);
  EXPECT_FALSE(m.pass);
  EXPECT_EQ(m.index, n - 2);
  EXPECT_EQ(m.bad_elements, 1);
  EXPECT_EQ(FirstDifference(got.data(), ref.data(), DType::kF32, n), n - 2);
}

}  // namespace
}  // namespace kf::task
