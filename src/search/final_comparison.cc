#include "search/final_comparison.h"

#include <cstdio>
#include <fstream>

#include "search/run_context.h"
#include "util/files.h"
#include "util/subprocess.h"

namespace kf::search {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool Significant(double lo, double hi) {
  return lo > eval::EvalResult::kSignificantRatio || hi < 1 / eval::EvalResult::kSignificantRatio;
}

eval::TimeStats StatsOf(const store::FinalRow& r) {
  eval::TimeStats t;
  t.median_ms = r.median_ms;
  t.ci_lo_ms = r.ci_lo_ms;
  t.ci_hi_ms = r.ci_hi_ms;
  return t;
}

json RowJson(const store::FinalRow& r) {
  return {{"candidate_id", r.candidate_id},
          {"name", r.name},
          {"baseline", r.baseline},
          {"median_ms", r.median_ms},
          {"ci_ms", {r.ci_lo_ms, r.ci_hi_ms}},
          {"p10_ms", r.p10_ms},
          {"p90_ms", r.p90_ms},
          {"runs", r.runs},
          {"failure", r.failure},
          {"speedup", r.speedup},
          {"speedup_ci", {r.speedup_lo, r.speedup_hi}},
          {"significant", r.significant},
          {"winner", r.winner}};
}

// The file a judged candidate was judged from, written again if it is gone.
fs::path ProgramFile(RunContext& ctx, const Candidate& c) {
  const fs::path judged = c.result.value("candidate", std::string());
  std::error_code ec;
  if (!judged.empty() && fs::is_regular_file(judged, ec) && ReadFile(judged) == c.code) {
    return judged;
  }
  const std::string ext = judged.has_extension() ? judged.extension().string() : ctx.extension;
  const fs::path file = ctx.options.run_dir / "candidates" / (c.code_hash.substr(0, 16) + ext);
  fs::create_directories(file.parent_path(), ec);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << c.code;
  return file;
}

}  // namespace

std::vector<store::FinalRow> FinalRows(const eval::Comparison& comparison,
                                       const std::vector<int64_t>& ids) {
  std::vector<store::FinalRow> rows;
  const eval::ComparedProgram* base = nullptr;
  for (const auto& p : comparison.programs) {
    if (p.baseline && p.time) {
      base = &p;
      break;
    }
  }
  size_t candidate = 0;
  for (const auto& p : comparison.programs) {
    store::FinalRow r;
    r.name = p.name;
    r.baseline = p.baseline;
    if (!p.baseline && candidate < ids.size()) r.candidate_id = ids[candidate++];
    r.failure = p.failure;
    if (p.time) {
      r.median_ms = p.time->median_ms;
      r.ci_lo_ms = p.time->ci_lo_ms;
      r.ci_hi_ms = p.time->ci_hi_ms;
      r.p10_ms = p.time->p10_ms;
      r.p90_ms = p.time->p90_ms;
      r.runs = p.time->runs;
      if (base) {
        r.speedup = base->time->median_ms / std::max(p.time->median_ms, 1e-12);
        const auto ci = eval::SpeedupInterval(*base->time, *p.time);
        r.speedup_lo = ci.first;
        r.speedup_hi = ci.second;
        r.significant = Significant(ci.first, ci.second);
      }
    }
    rows.push_back(r);
  }
  store::FinalRow* winner = nullptr;
  for (auto& r : rows) {
    if (r.baseline || !r.failure.empty() || r.median_ms <= 0) continue;
    if (!eval::ShownFaster(r.speedup, r.speedup_lo)) continue;
    if (!winner || r.median_ms < winner->median_ms) winner = &r;
  }
  if (winner) winner->winner = true;
  return rows;
}

json FinalJson(const std::vector<store::FinalRow>& rows, int rounds, uint64_t seed) {
  json j = {{"rounds", rounds}, {"seed", seed}, {"programs", json::array()}, {"winner", 0}};
  const store::FinalRow* winner = nullptr;
  for (const auto& r : rows) {
    j["programs"].push_back(RowJson(r));
    if (r.winner) winner = &r;
  }
  if (!winner) return j;
  j["winner"] = winner->candidate_id;
  // The runner-up: the next fastest candidate that was timed.
  const store::FinalRow* next = nullptr;
  for (const auto& r : rows) {
    if (r.baseline || &r == winner || !r.failure.empty() || r.median_ms <= 0) continue;
    if (!next || r.median_ms < next->median_ms) next = &r;
  }
  if (next) {
    const auto ci = eval::SpeedupInterval(StatsOf(*next), StatsOf(*winner));
    j["vs_next"] = {{"candidate_id", next->candidate_id},
                    {"speedup", next->median_ms / std::max(winner->median_ms, 1e-12)},
                    {"speedup_ci", {ci.first, ci.second}},
                    {"significant", Significant(ci.first, ci.second)}};
  }
  return j;
}

Result<json> RunFinalComparison(RunContext& ctx) {
  if (ctx.options.final_candidates <= 0) return json::object();
  // The starting program is the baseline itself when it is the task's initial program.
  const bool start_is_baseline = !ctx.task.torch && ctx.options.start_program.empty();
  auto fastest = ctx.store->Fastest(ctx.options.final_candidates + 1);
  if (!fastest.ok()) return fastest.status();
  std::vector<Candidate> chosen;
  for (const Candidate& c : *fastest) {
    if (start_is_baseline && ctx.initial && c.id == ctx.initial->id) continue;
    if (static_cast<int>(chosen.size()) < ctx.options.final_candidates) chosen.push_back(c);
  }
  if (chosen.empty()) return json::object();
  std::vector<fs::path> files;
  std::vector<int64_t> ids;
  for (const Candidate& c : chosen) {
    files.push_back(ProgramFile(ctx, c));
    ids.push_back(c.id);
  }
  std::fprintf(stderr, "kforge optimize: final comparison of %zu candidates and the baselines\n",
               files.size());
  const double t0 = MonotonicSeconds();
  auto comparison = ctx.judge->Compare(files);
  ctx.eval_seconds += MonotonicSeconds() - t0;
  if (!comparison.ok()) {
    std::fprintf(stderr, "kforge optimize: no final comparison: %s\n",
                 comparison.status().message().c_str());
    return json{{"error", comparison.status().message()}};
  }
  const auto rows = FinalRows(*comparison, ids);
  if (Status st = ctx.store->SetFinalComparison(rows); !st.ok()) return st;
  json j = FinalJson(rows, comparison->rounds, comparison->seed);
  ctx.best.reset();
  for (const Candidate& c : chosen) {
    if (c.id == j["winner"].get<int64_t>()) ctx.best = c;
  }
  return j;
}

}  // namespace kf::search
