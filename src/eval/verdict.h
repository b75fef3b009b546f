// The outcome of evaluating one candidate: a verdict from EVAL_PROTOCOL.md's list, timings with
// their spread, speedup against the baseline, the roofline position, and the detail that
// explains the verdict well enough to be fed back to a model. Plain values.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kf::eval {

enum class Verdict {
  kOk,
  kCompileError,
  kWrongAnswer,
  kRuntimeError,
  kTimeout,
  kCrash,
  kSandboxViolation,
  kStaticViolation,
  kSuspicious,
};

std::string_view VerdictName(Verdict v);

struct TimeStats {
  double median_ms = 0;
  double p10_ms = 0;
  double p90_ms = 0;
  double min_ms = 0;
  int runs = 0;
  double ci95_rel = 0;  // half-width of the median's 95% interval over the median
  double ci_lo_ms = 0;  // the median's 95% interval (order statistics)
  double ci_hi_ms = 0;
};

// Summarises samples in nanoseconds.
TimeStats SummariseSamples(std::vector<double> samples_ns);

struct Roofline {
  double flops = 0;
  double bytes = 0;
  double achieved_gbps = 0;
  double achieved_gflops = 0;
  double peak_gbps = 0;
  double peak_gflops = 0;
  double fraction = 0;  // floor time over measured time (1 = at the hardware's limit)
  double floor_ms = 0;  // below this (with the margin) a time is suspicious
};

// The 95% interval of baseline / candidate from the two medians' intervals: {low, high}. A
// speedup whose interval holds 1.0 is not significant.
std::pair<double, double> SpeedupInterval(const TimeStats& baseline, const TimeStats& candidate);

// Whether a correct candidate is shown faster than its baseline, the rule that makes it a run's
// winner: its speedup's 95% interval lies above EvalResult::kSignificantRatio (a ratio that noise
// could give is no evidence). `ci_low` is absent for results stored before the interval was
// recorded: then the median ratio decides.
bool ShownFaster(double speedup, std::optional<double> ci_low);

// {median, p10, p90, min, runs, ci95_rel}, as in EvalResult::ToJson.
nlohmann::json StatsJson(const TimeStats& t);

struct EvalResult {
  Verdict verdict = Verdict::kOk;
  std::string task;
  std::string candidate;
  uint64_t seed = 0;
  std::string sandbox;
  std::optional<TimeStats> time;
  std::optional<TimeStats> baseline;
  std::string baseline_name = "initial program";  // what `baseline` timed
  std::optional<double> speedup;
  // The speedup's 95% interval; not significant when it reaches into [1/1.01, 1.01] (then the
  // candidate is not shown to differ from the baseline by more than the 1% timing resolution,
  // whatever the median ratio says).
  std::optional<std::pair<double, double>> speedup_ci;
  bool speedup_significant() const {
    return speedup_ci &&
           (speedup_ci->first > kSignificantRatio || speedup_ci->second < 1.0 / kSignificantRatio);
  }
  static constexpr double kSignificantRatio = 1.01;
  // The task's other baselines (vendor libraries): [{name, time_ms: stats, speedup}].
  nlohmann::json baselines = nlohmann::json::array();
  std::optional<Roofline> roofline;
  nlohmann::json detail = nlohmann::json::object();  // "message" always set
  double eval_seconds = 0;
  double compile_seconds = 0;
  nlohmann::json profile = nlohmann::json::object();  // seconds per stage of this evaluation

  bool correct() const { return verdict == Verdict::kOk || verdict == Verdict::kSuspicious; }
  nlohmann::json ToJson() const;
  std::string Summary() const;  // a few lines for people
};

}  // namespace kf::eval
