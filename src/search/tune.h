// Tunable parameters a program declares, for `--strategy tune`:
//   // kforge-tune: BLOCK = 16, 32, 64
//   // kforge-tune: UNROLL = 1, 2, 4, 8
// Each is a macro: a variant is the program with `#define NAME VALUE` lines put first, so the
// program guards its own default with #ifndef NAME ... #endif.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "util/status.h"

namespace kf::search {

struct TuneParam {
  std::string name;
  std::vector<std::string> values;
};

// The declared parameters, in order; an error names a malformed line.
Result<std::vector<TuneParam>> ParseTuneParams(const std::string& source);

// Which points of the space to judge, as index vectors (one value index per parameter): all of
// them, in order, when there are at most `budget`; else `budget` distinct points drawn with
// `seed`.
std::vector<std::vector<size_t>> TunePlan(const std::vector<TuneParam>& params, int64_t budget,
                                          uint64_t seed);

// The program with the chosen values defined first.
std::string TuneVariant(const std::string& source, const std::vector<TuneParam>& params,
                        const std::vector<size_t>& point);

}  // namespace kf::search
