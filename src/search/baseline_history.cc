#include "search/baseline_history.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "search/run_context.h"
#include "util/subprocess.h"

namespace kf::search {
namespace {

constexpr double kMinBand = 1.3;
constexpr double kSpreadFactor = 3;

// A baseline's timing in a result: the primary (baseline_name) and each timed vendor baseline.
struct Timed {
  std::string name;
  eval::TimeStats time;
};

std::vector<Timed> TimedBaselines(const eval::EvalResult& r) {
  std::vector<Timed> out;
  if (r.baseline && r.baseline->median_ms > 0) out.push_back({r.baseline_name, *r.baseline});
  for (const auto& b : r.baselines) {
    if (!b.contains("time_ms") || !b["time_ms"].is_object() || !b["time_ms"].contains("median"))
      continue;
    eval::TimeStats t;
    t.median_ms = b["time_ms"].value("median", 0.0);
    const double rel = b["time_ms"].value("ci95_rel", 0.0);
    t.ci_lo_ms = t.median_ms * (1 - rel);
    t.ci_hi_ms = t.median_ms * (1 + rel);
    if (t.median_ms > 0) out.push_back({b.value("name", ""), t});
  }
  return out;
}

// The baselines of `r` that lie outside their history: {name, measured, history}.
Result<std::vector<std::tuple<std::string, double, HistoryCheck>>> OffHistory(
    RunContext& ctx, const eval::EvalResult& r) {
  std::vector<std::tuple<std::string, double, HistoryCheck>> off;
  for (const Timed& t : TimedBaselines(r)) {
    auto history = ctx.store->BaselineTimings(t.name);
    if (!history.ok()) return history.status();
    const HistoryCheck check = CheckAgainstHistory(*history, t.time.median_ms);
    if (!check.believed) off.emplace_back(t.name, t.time.median_ms, check);
  }
  return off;
}

// The candidate's speedup against the primary baseline's history, replacing the measured one.
void UseHistory(eval::EvalResult& r, double history_ms) {
  if (!r.time || r.time->median_ms <= 0) return;
  r.speedup = history_ms / r.time->median_ms;
  r.speedup_ci = std::pair{history_ms / std::max(r.time->ci_hi_ms, 1e-12),
                           history_ms / std::max(r.time->ci_lo_ms, 1e-12)};
}

}  // namespace

HistoryCheck CheckAgainstHistory(const std::vector<store::BaselineTiming>& history,
                                 double median_ms) {
  HistoryCheck c;
  std::vector<double> ms;
  for (const auto& h : history) {
    if (h.believed && h.median_ms > 0) ms.push_back(h.median_ms);
  }
  if (ms.empty() || median_ms <= 0) return c;
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  c.history_ms = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  double spread = 0;
  for (double m : ms) spread = std::max(spread, std::fabs(std::log(m / c.history_ms)));
  c.band = std::max(kMinBand, std::exp(kSpreadFactor * spread));
  c.believed = median_ms <= c.history_ms * c.band && median_ms >= c.history_ms / c.band;
  return c;
}

Result<eval::EvalResult> EvaluateWithHistory(RunContext& ctx, const std::filesystem::path& file,
                                             double* seconds) {
  const double t0 = MonotonicSeconds();
  auto r = ctx.judge->Evaluate(file);
  if (!r.ok() || r->verdict != eval::Verdict::kOk) {
    *seconds = MonotonicSeconds() - t0;
    return r;
  }
  auto off = OffHistory(ctx, *r);
  if (!off.ok()) return off.status();
  if (off->empty()) {
    *seconds = MonotonicSeconds() - t0;
    return r;
  }
  // Measured again: a machine busy for a moment is not busy for long.
  nlohmann::json first = nlohmann::json::array();
  for (const auto& [name, ms, check] : *off) {
    first.push_back({{"name", name}, {"median_ms", ms}, {"history_ms", check.history_ms}});
    std::fprintf(stderr,
                 "%skforge optimize: %s timed at %.4f ms, far from its history (%.4f ms): "
                 "measuring again\n",
                 ctx.options.progress_tty ? "\n" : "", name.c_str(), ms, check.history_ms);
  }
  auto again = ctx.judge->Evaluate(file);
  *seconds = MonotonicSeconds() - t0;
  if (!again.ok()) return again.status();
  eval::EvalResult kept = again->verdict == eval::Verdict::kOk ? *again : *r;
  auto still = OffHistory(ctx, kept);
  if (!still.ok()) return still.status();
  nlohmann::json check = {{"remeasured", true}, {"first", first}, {"believed", still->empty()}};
  nlohmann::json flagged = nlohmann::json::array();
  for (const auto& [name, ms, h] : *still) {
    flagged.push_back({{"name", name}, {"median_ms", ms}, {"history_ms", h.history_ms}});
    if (name == kept.baseline_name) {
      check["measured_speedup"] = kept.speedup ? *kept.speedup : 0.0;
      UseHistory(kept, h.history_ms);
    }
  }
  if (!flagged.empty()) check["not_believed"] = flagged;
  kept.detail["baseline_check"] = check;
  return kept;
}

Status RecordBaselineTimings(RunContext& ctx, int64_t candidate_id, const eval::EvalResult& r) {
  if (r.verdict != eval::Verdict::kOk) return Status::Ok();
  std::vector<std::string> not_believed;
  if (r.detail.contains("baseline_check")) {
    for (const auto& f : r.detail["baseline_check"].value("not_believed", nlohmann::json::array()))
      not_believed.push_back(f.value("name", ""));
  }
  for (const Timed& t : TimedBaselines(r)) {
    store::BaselineTiming row;
    row.candidate_id = candidate_id;
    row.name = t.name;
    row.median_ms = t.time.median_ms;
    row.ci_lo_ms = t.time.ci_lo_ms;
    row.ci_hi_ms = t.time.ci_hi_ms;
    row.believed =
        std::find(not_believed.begin(), not_believed.end(), t.name) == not_believed.end();
    if (!row.believed) row.note = "far from its history after measuring again";
    if (Status st = ctx.store->AddBaselineTiming(row); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace kf::search
