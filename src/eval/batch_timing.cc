#include "eval/batch_timing.h"

#include <algorithm>
#include <cmath>

#include "eval/verdict.h"
#include "util/subprocess.h"

namespace kf::eval {
using json = nlohmann::json;

namespace {

constexpr double kWarmupSeconds = 0.05;

// One batch: `calls` calls from the rotation's current set, timed by this process's clock.
std::optional<Reply> Batch(Worker& worker, json request, size_t calls, const BatchTimingOptions& o,
                           BatchTiming* t, double* wall_ns) {
  request["calls"] = calls;
  request["first"] = t->next_set;
  const double deadline = o.call_deadline_s * static_cast<double>(calls) + 5;
  const double t0 = MonotonicSeconds();
  Reply r = worker.Request(request, deadline);
  const double wall = (MonotonicSeconds() - t0) * 1e9;
  t->seconds += wall / 1e9;
  if (!r.ok()) return r;
  t->next_set = (t->next_set + calls) % std::max<size_t>(o.sets, 1);
  t->calls += calls;
  const double reported = r.body.value("ns", 0.0);
  t->clocked_ns += wall;
  t->reported_ns += reported;
  if (!(reported >= 0) || reported > wall + 1e3) {
    // The worker measured inside the request: it cannot have seen more time than we did.
    Reply forged;
    forged.kind = Reply::Kind::kError;
    forged.body = {{"forged", true}, {"reported_ns", reported}, {"clocked_ns", wall}};
    forged.message = "the worker reported " + std::to_string(reported) +
                     " ns for calls that the orchestrator clocked at " + std::to_string(wall) +
                     " ns: its reply was forged";
    return forged;
  }
  *wall_ns = wall;
  return std::nullopt;
}

size_t CallsPerBatch(double per_call_ns) {
  return static_cast<size_t>(
      std::clamp(std::ceil(kBatchTargetSeconds * 1e9 / std::max(per_call_ns, 1.0)), 1.0, 1e6));
}

double MedianRelCi(const std::vector<double>& samples) {
  return SummariseSamples(samples).ci95_rel;
}

// The first round's warm-up (lazy initialisation, autotuning, first touch of the sets): one
// call, then as many more, up to every set, as fit in kWarmupSeconds (a slow program warms up in
// a call or two); then the batch size. A warm-up call slowed by lazy initialisation or a
// descheduled worker would leave batches so short that the round trip weighs in the time:
// batches are sized by the fastest per-call time seen (a slow batch is the machine's), measured
// again until that settles.
std::optional<Reply> WarmUpAndSizeBatches(Worker& worker, const json& run,
                                          const BatchTimingOptions& o, BatchTiming* t) {
  double wall = 0;
  if (auto f = Batch(worker, run, 1, o, t, &wall)) return f;
  const double per_call = std::max(wall, 1.0);
  const size_t more = static_cast<size_t>(
      std::clamp(std::floor(kWarmupSeconds * 1e9 / per_call), 1.0, static_cast<double>(o.sets)));
  if (auto f = Batch(worker, run, more, o, t, &wall)) return f;
  double fastest = std::min(per_call, wall / static_cast<double>(more));
  size_t calls = CallsPerBatch(fastest);
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (auto f = Batch(worker, run, calls, o, t, &wall)) return f;
    fastest = std::min(fastest, wall / static_cast<double>(calls));
    if (CallsPerBatch(fastest) <= calls) break;
    calls = CallsPerBatch(fastest);
  }
  t->calls_per_batch = calls;
  return std::nullopt;
}

}  // namespace

std::optional<Reply> TimeRound(Worker& worker, const json& run, const BatchTimingOptions& o,
                               BatchTiming* t) {
  double wall = 0;
  if (t->calls_per_batch != 0) {
    // A later round: the program is warm; one untimed batch brings its data back into the
    // caches the other programs' rounds used.
    if (auto f = Batch(worker, run, t->calls_per_batch, o, t, &wall)) return f;
  } else if (auto f = WarmUpAndSizeBatches(worker, run, o, t)) {
    return f;
  }
  const size_t first_sample = t->samples_ns.size();
  const double start = MonotonicSeconds();
  size_t next_check = static_cast<size_t>(std::max(o.min_batches, 3));
  for (;;) {
    if (auto f = Batch(worker, run, t->calls_per_batch, o, t, &wall)) return f;
    t->samples_ns.push_back(wall / static_cast<double>(t->calls_per_batch));
    const size_t n = t->samples_ns.size() - first_sample;
    if (n >= next_check) {
      const std::vector<double> round(t->samples_ns.begin() + first_sample, t->samples_ns.end());
      if (MedianRelCi(round) <= o.target_rel_ci) break;
      next_check = n + std::max<size_t>(5, n / 8);
    }
    if (MonotonicSeconds() - start > o.seconds && n >= 3) break;
  }
  return std::nullopt;
}

}  // namespace kf::eval
