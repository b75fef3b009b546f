// Timing by the orchestrator's clock (EVAL_PROTOCOL rule 19): a program is timed as batches of
// back-to-back calls in its worker, each batch one `run` request whose round trip the
// orchestrator measures with its own CLOCK_MONOTONIC. The worker's own figure for the batch is
// only cross-checked: a worker that claims more time than the orchestrator saw pass is lying.
// Batches are long enough (kBatchTargetSeconds) that a round trip's overhead is small against
// them, and the candidate and its baselines pay the same overhead, so identical programs read
// 1.00x. Not thread-safe; one caller per worker.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "eval/worker.h"

namespace kf::eval {

// How long one batch should take: the round trip (tens of microseconds) stays under 1% of it.
inline constexpr double kBatchTargetSeconds = 0.005;

struct BatchTimingOptions {
  size_t sets = 1;              // buffer sets the calls rotate over
  double seconds = 0.3;         // cap on this round's batches
  double target_rel_ci = 0.01;  // stop when the median's 95% interval is within this
  int min_batches = 10;
  double call_deadline_s = 10;  // per call; a batch gets calls times this
};

// A program's timing across rounds: samples are per-call times (a batch's wall time over its
// calls), in nanoseconds.
struct BatchTiming {
  std::vector<double> samples_ns;
  double clocked_ns = 0;       // what the orchestrator measured, warm-ups included
  double reported_ns = 0;      // what the worker claimed for the same requests
  size_t calls_per_batch = 0;  // chosen from the first warm-up, kept across rounds
  size_t next_set = 0;         // where the rotation continues
  size_t calls = 0;            // calls made, warm-ups included (sets [0, calls) have been used)
  double seconds = 0;          // wall time of the requests
};

// Runs one round: a warm-up (in the first round, over every set and until the batch size is
// known; later, one batch), then timed batches until the median is stable or the round's time is
// spent. `run` is the worker's run request without calls/first. Returns
// the failing reply, if any; a forged report is a failure too (kind kError, body "forged").
std::optional<Reply> TimeRound(Worker& worker, const nlohmann::json& run,
                               const BatchTimingOptions& options, BatchTiming* timing);

}  // namespace kf::eval
