// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit generator whose step is also a strong
// mixing function. Seeds every other generator kforge draws from (task/buffers.cc) and derives
// per-trial seeds from an evaluation's seed (eval/evaluator_impl.h).
#pragma once

#include <cstdint>

namespace kf {

// Advances `state` by the golden-ratio increment and returns its mix: the generator's next value.
inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The generator's first value from state `x`: a 64-bit hash of `x`.
inline uint64_t SplitMix64Of(uint64_t x) { return SplitMix64(&x); }

}  // namespace kf
