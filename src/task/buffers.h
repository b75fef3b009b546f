// Host-side buffers for trials: seeded random inputs by distribution, poison patterns for
// outputs, conversion to the reference's double precision, and the output comparison of
// EVAL_PROTOCOL rules 6 and 9. Pure functions over memory; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "task/dtype.h"
#include "task/task.h"

namespace kf::task {

// Fills n elements of type dtype at dst from the distribution, deterministically from seed.
void FillRandom(void* dst, DType dtype, int64_t n, const Distribution& dist, uint64_t seed);

// Writes a value no correct kernel produces: NaN for floats, a bit pattern for integers
// (variant 0 or 1 picks one of two patterns, so an unwritten integer cannot match by luck twice).
void Poison(void* dst, DType dtype, int64_t n, int variant);

// Converts n elements of dtype at src to the reference's type (double for floats) at dst.
void ToReferenceType(const void* src, DType dtype, int64_t n, void* dst);

struct Mismatch {
  bool pass = true;
  std::string reason;  // empty when pass
  int64_t index = -1;  // flat index of the worst element
  double got = 0;
  double expected = 0;
  double abs_err = 0;
  double allowed = 0;   // atol + rtol * |expected| at index
  double rel_norm = 0;  // ||out - ref|| / ||ref||
  int64_t bad_elements = 0;
  bool zeros_would_pass = false;  // the check cannot tell this output from all zeros
};

// Compares a candidate output (dtype) against the reference output (`ref_dtype`, by default
// ReferenceDType(dtype); a PyTorch module's reference is in the output's own dtype).
Mismatch CompareOutput(const void* got, const void* ref, DType dtype, int64_t n,
                       const Tolerance& tol, std::optional<DType> ref_dtype = std::nullopt);

// Flat index -> "[i, j]" for a shape.
std::string IndexToString(int64_t flat, const std::vector<int64_t>& shape);

// Bitwise equality of two buffers; returns the first differing element or -1.
int64_t FirstDifference(const void* a, const void* b, DType dtype, int64_t n);

}  // namespace kf::task
