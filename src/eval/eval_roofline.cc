// The roofline: where a median time stands against the machine's measured ceilings, and the
// floor no honest program beats.
#include "eval/evaluator_impl.h"

namespace kf::eval {

Result<std::pair<Roofline, std::optional<Failure>>> Evaluator::Impl::JudgeRoofline(double median_ms,
                                                                                   bool python) {
  Roofline roof;
  auto flops = task_.Flops(task_.bench_sizes);
  auto bytes = task_.Bytes(task_.bench_sizes);
  if (!flops.ok()) return flops.status();
  if (!bytes.ok()) return bytes.status();
  roof.flops = *flops;
  roof.bytes = *bytes;
  const double seconds = median_ms / 1e3;
  roof.achieved_gbps = roof.bytes / seconds / 1e9;
  roof.achieved_gflops = roof.flops / seconds / 1e9;
  // The floor uses the fastest arithmetic the device has (tensor cores on a GPU), so no honest
  // time falls under it; the fraction a user reads is against the task's own precision. Task
  // buffers are f32, f64 or integers, so that is SGEMM's rate, not bf16 tensor cores'.
  auto place = [&] {
    // A ModelNew runs torch, which uses every core; a native program one unless allowed more.
    const double units = task_.allows_threads || python ? ceilings_->cores : 1;
    const double best_gflops = ceilings_->gflops_per_unit * units;
    // Half precision runs on the tensor cores: its limit is the best matrix rate.
    bool half = false;
    for (const auto& t : task_.outputs) half = half || task::IsHalf(t.dtype);
    roof.peak_gflops = ceilings_->fp32_gflops > 0 && !half ? ceilings_->fp32_gflops : best_gflops;
    // The CPU's copy ceiling is one core's: several cores may stream more, so the floor allows
    // each of them that much (an upper bound; the margin belongs below the floor), and the
    // fraction a user reads is of that. A GPU's copy ceiling is already the whole device's.
    const double best_gbps = ceilings_->copy_gbps * (backend_.CopyCeilingPerUnit() ? units : 1);
    roof.peak_gbps = best_gbps;
    const double floor_s =
        std::max(roof.bytes / (best_gbps * 1e9), roof.flops / (best_gflops * 1e9));
    roof.floor_ms = floor_s * 1e3 * opt_.floor_margin;
    roof.fraction =
        std::max(roof.bytes / (roof.peak_gbps * 1e9), roof.flops / (roof.peak_gflops * 1e9)) /
        seconds;
  };
  place();
  for (int again = 0; again < 3 && median_ms < roof.floor_ms; ++again) {
    // Before calling it impossible, make sure the ceilings were not measured on a busy machine
    // (again in the clean worker: a candidate's worker never measures them). The best of the
    // measurements is kept: an honest program near the machine's limit is not judged by one
    // unlucky probe.
    if (auto s = MeasureCeilings(true); !s.ok()) return s;
    place();
  }
  if (median_ms < roof.floor_ms) {
    Failure f{Verdict::kSuspicious,
              "the median time " + std::to_string(median_ms) + " ms is below the roofline floor " +
                  std::to_string(roof.floor_ms) +
                  " ms (bytes over measured bandwidth, flops over measured peak, with margin " +
                  std::to_string(opt_.floor_margin) +
                  "): it cannot have done the work it claims in that time"};
    f.extra = {{"stage", "roofline"}, {"floor_ms", roof.floor_ms}};
    return std::make_pair(roof, std::optional<Failure>(f));
  }
  return std::make_pair(roof, std::optional<Failure>());
}

}  // namespace kf::eval
