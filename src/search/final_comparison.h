// The end of a run: the fastest few correct candidates and the task's baselines judged again
// together (Judge::Compare: alternating rounds on fresh inputs), so that the winner and its
// speedups come from timings taken side by side, never from evaluations made at different
// moments under different loads. The comparison is recorded in the run's store
// (final_comparison) and becomes the report's winner and baselines.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "eval/evaluator.h"
#include "eval/verdict.h"
#include "store/run_store.h"
#include "util/status.h"

namespace kf::search {

struct RunContext;

// Candidates a comparison takes by default.
inline constexpr int kFinalCandidates = 3;

// Rows of a comparison with the speedups against its first baseline, the winner marked: the
// candidate with the lowest median whose speedup's 95% interval lies above 1.01 (none: no
// winner, the starting program stands). `ids` are the compared candidates' ids, in order.
std::vector<store::FinalRow> FinalRows(const eval::Comparison& comparison,
                                       const std::vector<int64_t>& ids);

// The comparison as JSON: rounds, seed, rows, the winner's id (0: none) and, when two or more
// candidates were timed, the winner against the runner-up ({id, speedup, ci, significant}).
nlohmann::json FinalJson(const std::vector<store::FinalRow>& rows, int rounds, uint64_t seed);

// Runs the final comparison of the run (ctx.options.final_candidates candidates; 0: none),
// records it and makes its winner the run's best. Returns FinalJson, or {} when there was
// nothing to compare; {"error": why} when the judge could not compare (the run's figures then
// stand, and the report says so).
Result<nlohmann::json> RunFinalComparison(RunContext& ctx);

}  // namespace kf::search
