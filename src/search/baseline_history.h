// Each baseline's timing history within a run. Every evaluation times the baselines again (the
// initial program or PyTorch eager, torch.compile, vendor libraries); a timing far outside the
// baseline's earlier ones (another process took the machine meanwhile) is measured again, and
// when it stays far off it is flagged and not believed: the candidate's speedup is then taken
// against the baseline's history instead. Candidates are ranked by their own times either way;
// this keeps the speedups shown to the model and in progress lines honest.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eval/verdict.h"
#include "store/run_store.h"
#include "util/status.h"

namespace kf::search {

struct RunContext;

// Where a new timing stands against a baseline's believed history.
struct HistoryCheck {
  bool believed = true;
  double history_ms = 0;  // the median of the believed timings (0: no history)
  double band = 0;        // believed within [history / band, history * band]
};

// A timing of `median_ms` against `history` (believed entries only count). No history: believed.
// The band is 1.3x, widened to three times the history's own relative spread where that is
// larger.
HistoryCheck CheckAgainstHistory(const std::vector<store::BaselineTiming>& history,
                                 double median_ms);

// Evaluates `file` with ctx.judge; a correct result whose baseline timings lie outside their
// history is evaluated once more, and the evaluation whose baselines agree with history is
// kept. A baseline still off is flagged in the result (detail.baseline_check) and the speedup
// against it replaced by one against its history. `seconds` gets the judging time.
Result<eval::EvalResult> EvaluateWithHistory(RunContext& ctx, const std::filesystem::path& file,
                                             double* seconds);

// Records the baselines' timings of a judged candidate's result in the run's history.
[[nodiscard]] Status RecordBaselineTimings(RunContext& ctx, int64_t candidate_id,
                                           const eval::EvalResult& result);

}  // namespace kf::search
