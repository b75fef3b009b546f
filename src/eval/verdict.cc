#include "eval/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kf::eval {
using json = nlohmann::json;

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kCompileError:
      return "compile_error";
    case Verdict::kWrongAnswer:
      return "wrong_answer";
    case Verdict::kRuntimeError:
      return "runtime_error";
    case Verdict::kTimeout:
      return "timeout";
    case Verdict::kCrash:
      return "crash";
    case Verdict::kSandboxViolation:
      return "sandbox_violation";
    case Verdict::kStaticViolation:
      return "static_violation";
    case Verdict::kSuspicious:
      return "suspicious";
  }
  return "unknown";
}

TimeStats SummariseSamples(std::vector<double> s) {
  TimeStats t;
  if (s.empty()) return t;
  std::sort(s.begin(), s.end());
  auto at = [&](double q) {
    return s[std::min(s.size() - 1, static_cast<size_t>(q * (s.size() - 1) + 0.5))] / 1e6;
  };
  const double n = static_cast<double>(s.size());
  t.median_ms =
      s.size() % 2 ? s[s.size() / 2] / 1e6 : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2e6;
  t.p10_ms = at(0.1);
  t.p90_ms = at(0.9);
  t.min_ms = s.front() / 1e6;
  t.runs = static_cast<int>(s.size());
  const double half = 0.98 * std::sqrt(n);
  const size_t lo = static_cast<size_t>(std::max(0.0, std::floor(n / 2 - half)));
  const size_t hi = static_cast<size_t>(std::min(n - 1, std::ceil(n / 2 + half)));
  t.ci95_rel = t.median_ms > 0 ? (s[hi] - s[lo]) / 2e6 / t.median_ms : 0;
  t.ci_lo_ms = s[lo] / 1e6;
  t.ci_hi_ms = s[hi] / 1e6;
  return t;
}

std::pair<double, double> SpeedupInterval(const TimeStats& b, const TimeStats& c) {
  if (c.ci_hi_ms <= 0 || c.ci_lo_ms <= 0) return {0, 0};
  return {b.ci_lo_ms / c.ci_hi_ms, b.ci_hi_ms / c.ci_lo_ms};
}

bool ShownFaster(double speedup, std::optional<double> ci_low) {
  return ci_low ? *ci_low > EvalResult::kSignificantRatio : speedup > 1.0;
}

json StatsJson(const TimeStats& t) {
  return {{"median", t.median_ms}, {"p10", t.p10_ms}, {"p90", t.p90_ms},
          {"min", t.min_ms},       {"runs", t.runs},  {"ci95_rel", t.ci95_rel}};
}

json EvalResult::ToJson() const {
  json j = {{"verdict", VerdictName(verdict)},
            {"correct", correct()},
            {"task", task},
            {"candidate", candidate},
            {"seed", seed},
            {"sandbox", sandbox},
            {"time_ms", time ? StatsJson(*time) : json()},
            {"baseline_time_ms", baseline ? json(baseline->median_ms) : json()},
            {"baseline", baseline ? StatsJson(*baseline) : json()},
            {"baseline_name", baseline_name},
            {"speedup", speedup ? json(*speedup) : json()},
            {"speedup_ci", speedup_ci ? json{speedup_ci->first, speedup_ci->second} : json()},
            {"speedup_significant", speedup ? json(speedup_significant()) : json()},
            {"baselines", baselines},
            {"detail", detail},
            {"eval_seconds", eval_seconds},
            {"compile_seconds", compile_seconds},
            {"profile", profile}};
  if (roofline) {
    j["roofline"] = {{"flops", roofline->flops},
                     {"bytes", roofline->bytes},
                     {"achieved_gbps", roofline->achieved_gbps},
                     {"achieved_gflops", roofline->achieved_gflops},
                     {"peak_gbps", roofline->peak_gbps},
                     {"peak_gflops", roofline->peak_gflops},
                     {"fraction", roofline->fraction},
                     {"floor_ms", roofline->floor_ms}};
  } else {
    j["roofline"] = nullptr;
  }
  return j;
}

std::string EvalResult::Summary() const {
  char line[512];
  std::string s;
  std::snprintf(line, sizeof(line), "%s: %s  [task %s, sandbox %s, seed %llu]\n", candidate.c_str(),
                std::string(VerdictName(verdict)).c_str(), task.c_str(), sandbox.c_str(),
                static_cast<unsigned long long>(seed));
  s += line;
  if (time) {
    std::snprintf(line, sizeof(line), "  time      %.4f ms median (p10 %.4f, p90 %.4f, %d runs)\n",
                  time->median_ms, time->p10_ms, time->p90_ms, time->runs);
    s += line;
  }
  if (baseline) {
    std::snprintf(line, sizeof(line), "  baseline  %.4f ms median (%s, %d runs)\n",
                  baseline->median_ms, baseline_name.c_str(), baseline->runs);
    s += line;
  }
  if (speedup) {
    if (speedup_ci) {
      std::snprintf(
          line, sizeof(line), "  speedup   %.2fx (95%% interval %.2f-%.2f%s)\n", *speedup,
          speedup_ci->first, speedup_ci->second,
          speedup_significant() ? "" : ": not significant, no different from the baseline");
    } else {
      std::snprintf(line, sizeof(line), "  speedup   %.2fx\n", *speedup);
    }
    s += line;
  }
  for (const auto& b : baselines) {
    if (b.contains("verdict")) {
      s += "  vs " + b.value("name", std::string("?")) + ": the baseline failed (" +
           b.value("verdict", std::string()) + "): " + b.value("message", std::string()) + "\n";
      continue;
    }
    std::snprintf(line, sizeof(line), "  vs %-7s %.4f ms median (%d runs): speedup %.2fx\n",
                  b.value("name", std::string("?")).c_str(), b["time_ms"].value("median", 0.0),
                  b["time_ms"].value("runs", 0), b.value("speedup", 0.0));
    s += line;
  }
  if (roofline) {
    std::snprintf(line, sizeof(line),
                  "  roofline  %.1f GB/s, %.2f GFLOP/s: %.0f%% of this machine's limit\n",
                  roofline->achieved_gbps, roofline->achieved_gflops, 100 * roofline->fraction);
    s += line;
  }
  // Feedback a kernel engineer reads first: resources per kernel, the instruction mix, and
  // the profiler's view where it was asked for.
  for (const auto& k : detail.value("resources", json::array())) {
    std::snprintf(line, sizeof(line),
                  "  kernel    %s: %d registers, %d B shared, %d B stack, %d/%d B spilled "
                  "(stores/loads)\n",
                  k.value("kernel", std::string("?")).c_str(), k.value("registers", 0),
                  k.value("shared_bytes", 0), k.value("stack_bytes", 0), k.value("spill_stores", 0),
                  k.value("spill_loads", 0));
    s += line;
  }
  if (detail.contains("sass") && detail["sass"].is_object()) {
    std::string mix;
    for (const auto& [op, n] : detail["sass"].items()) {
      if (n.get<int>() > 0)
        mix += (mix.empty() ? "" : ", ") + op + " " + std::to_string(n.get<int>());
    }
    s += "  sass      " + (mix.empty() ? std::string("(empty)") : mix) + "\n";
  }
  if (detail.contains("ncu")) {
    const json& n = detail["ncu"];
    if (n.contains("error"))
      s += "  ncu       not available: " + n["error"].get<std::string>() + "\n";
    for (const auto& k : n.value("kernels", json::array())) {
      std::snprintf(
          line, sizeof(line),
          "  ncu       %.60s: %.2f us, DRAM %.0f%% of peak, SM %.0f%%, occupancy %.0f%%\n",
          k.value("name", std::string("?")).c_str(), k.value("gpu_time_us", 0.0),
          k.value("dram_pct", 0.0), k.value("sm_pct", 0.0), k.value("occupancy_pct", 0.0));
      s += line;
    }
  }
  if (verdict != Verdict::kOk) {
    s += "  why       " + detail.value("message", std::string()) + "\n";
    if (detail.contains("compiler_log")) {
      std::string log = detail["compiler_log"].get<std::string>();
      if (log.size() > 1500) log = log.substr(0, 1500) + "\n...";
      s += log + (log.empty() || log.back() == '\n' ? "" : "\n");
    }
  }
  return s;
}

}  // namespace kf::eval
