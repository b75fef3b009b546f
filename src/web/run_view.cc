#include "web/run_view.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <unordered_map>

#include "eval/verdict.h"
#include "search/evolve_features.h"
#include "web/line_diff.h"

namespace kf::web {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A run with no new candidate for this long and no report is `stopped` (killed; resumable).
constexpr double kRunningWindowS = 300;

json ParseOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

Result<std::unique_ptr<RunView>> RunView::Open(const fs::path& run_dir) {
  auto reader = store::RunReader::Open(run_dir);
  if (!reader.ok()) return reader.status();
  std::error_code ec;
  fs::path dir = fs::absolute(run_dir, ec).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/" names x
  return std::unique_ptr<RunView>(new RunView(std::move(*reader), dir));
}

Result<std::string> RunView::SyncLocked() {
  if (options_.empty()) {
    auto options = reader_->Meta("options");
    if (!options.ok()) return options.status();
    if (*options) {
      options_ = ParseOr(**options, json::object());
      if (options_.value("strategy", "") == "evolve") {
        for (const auto& f : search::EvolveFeatureAxes(options_.value("evolve", json::object())))
          features_.push_back(f.metric);
      }
    }
  }
  auto delta = reader_->ReadSince(cursor_, features_);
  if (!delta.ok()) return delta.status();
  cursor_ = delta->cursor;
  for (auto& r : delta->candidates) {
    if (r.has_roofline && r.peak_gflops) peak_gflops_ = *r.peak_gflops;
    if (r.has_roofline && r.peak_gbps) peak_gbps_ = *r.peak_gbps;
    rows_.push_back(std::move(r));
  }
  migrations_.insert(migrations_.end(), delta->migrations.begin(), delta->migrations.end());
  llm_.calls += delta->llm.calls;
  llm_.errors += delta->llm.errors;
  llm_.prompt_tokens += delta->llm.prompt_tokens;
  llm_.completion_tokens += delta->llm.completion_tokens;
  llm_.cost_usd += delta->llm.cost_usd;
  struct stat st {};
  const bool report = ::stat((dir_ / "report.json").c_str(), &st) == 0;
  // The state depends on the clock too (running turns into stopped): minutes count.
  const int64_t minute = static_cast<int64_t>(std::time(nullptr)) / 60;
  return std::to_string(rows_.size()) + "/" + std::to_string(migrations_.size()) + "/" +
         std::to_string(cursor_.llm_call) + "/" + delta->time_used_s + "/" +
         (report ? std::to_string(st.st_mtime) : "-") + "/" + std::to_string(minute);
}

template <typename F>
Result<json> RunView::Cached(const std::string& key, F build) {
  std::lock_guard<std::mutex> lock(mu_);
  auto version = SyncLocked();
  if (!version.ok()) return version.status();
  auto it = cache_.find(key);
  if (it != cache_.end() && it->second.first == *version) return it->second.second;
  Result<json> body = build();
  if (!body.ok()) return body;
  if (cache_.size() > 256) cache_.clear();  // pages of many filters: keep it bounded
  cache_[key] = {*version, *body};
  return body;
}

// The run's winner by optimize's rule: shown faster than its baseline, then the lowest time.
bool RunView::BeatsLocked(const Row& r, const Row* best) {
  return r.verdict == "ok" && eval::ShownFaster(r.speedup, r.speedup_ci_low) &&
         (!best || r.time_ms < best->time_ms);
}

const RunView::Row* RunView::BestLocked() const {
  const Row* best = nullptr;
  for (const auto& r : rows_) {
    if (BeatsLocked(r, best)) best = &r;
  }
  return best;
}

const RunView::Row* RunView::WinnerLocked() {
  if (auto final_rows = reader_->FinalComparison(); final_rows.ok()) {
    for (const auto& f : *final_rows) {
      if (!f.winner) continue;
      if (const Row* r = FindLocked(f.candidate_id)) return r;
    }
  }
  return BestLocked();
}

const RunView::Row* RunView::FindLocked(int64_t id) const {
  auto it = std::lower_bound(rows_.begin(), rows_.end(), id,
                             [](const Row& r, int64_t v) { return r.id < v; });
  return it != rows_.end() && it->id == id ? &*it : nullptr;
}

Result<json> RunView::Summary() {
  return Cached("summary", [&] { return SummaryLocked(); });
}

Result<json> RunView::SummaryLocked() {
  std::map<std::string, int64_t> counts;
  std::set<int> islands;
  for (const auto& r : rows_) {
    ++counts[r.verdict];
    islands.insert(r.island);
  }
  json verdicts = json::object();
  for (const auto& [v, n] : counts) verdicts[v] = n;
  const int64_t total = static_cast<int64_t>(rows_.size());
  const double first_at = rows_.empty() ? 0 : rows_.front().at;
  const double last_at = rows_.empty() ? 0 : rows_.back().at;
  auto time_used = reader_->Meta("time_used_s");
  if (!time_used.ok()) return time_used.status();
  json best = nullptr;
  // The final comparison, once made, names the winner and its figures (timed side by side).
  auto final_rows = reader_->FinalComparison();
  if (!final_rows.ok()) return final_rows.status();
  const store::FinalRow* final_winner = nullptr;
  json final_comparison = json::array();
  for (const auto& f : *final_rows) {
    if (f.winner) final_winner = &f;
    final_comparison.push_back({{"candidate_id", f.candidate_id},
                                {"name", f.name},
                                {"baseline", f.baseline},
                                {"median_ms", f.median_ms},
                                {"ci_ms", {f.ci_lo_ms, f.ci_hi_ms}},
                                {"runs", f.runs},
                                {"failure", f.failure},
                                {"speedup", f.speedup},
                                {"speedup_ci", {f.speedup_lo, f.speedup_hi}},
                                {"significant", f.significant},
                                {"winner", f.winner}});
  }
  if (final_winner && FindLocked(final_winner->candidate_id)) {
    json baselines = json::array();
    for (const auto& f : *final_rows) {
      if (!f.baseline || !f.failure.empty()) continue;
      baselines.push_back({{"name", f.name},
                           {"time_ms", f.median_ms},
                           {"speedup", f.median_ms / std::max(final_winner->median_ms, 1e-12)}});
    }
    const Row* b = FindLocked(final_winner->candidate_id);
    best = {{"id", b->id},
            {"speedup", final_winner->speedup},
            {"time_ms", final_winner->median_ms},
            {"island", b->island},
            {"source", "final comparison"},
            {"baselines", baselines}};
  } else if (const Row* b = BestLocked()) {
    auto full = reader_->GetCandidate(b->id);
    if (!full.ok()) return full.status();
    const json r = *full ? (*full)->result : json::object();
    json baselines = json::array();
    baselines.push_back({{"name", r.value("baseline_name", "initial program")},
                         {"time_ms", r.value("baseline_time_ms", 0.0)},
                         {"speedup", b->speedup}});
    for (const auto& base : r.value("baselines", json::array())) {
      if (!base.is_object()) continue;
      const bool timed = base.contains("time_ms") && base["time_ms"].is_object();
      baselines.push_back({{"name", base.value("name", "")},
                           {"time_ms", timed ? base["time_ms"].value("median", 0.0) : 0.0},
                           {"speedup", base.value("speedup", 0.0)}});
    }
    best = {{"id", b->id},
            {"speedup", b->speedup},
            {"time_ms", b->time_ms},
            {"island", b->island},
            {"baselines", baselines}};
  }
  // State: a report newer than the last candidate means the run ended.
  std::string state = "stopped";
  struct stat st {};
  if (::stat((dir_ / "report.json").c_str(), &st) == 0 &&
      static_cast<double>(st.st_mtime) + 1 >= last_at) {
    state = "finished";
  } else if (total == 0 || static_cast<double>(std::time(nullptr)) - last_at < kRunningWindowS) {
    state = "running";
  }
  std::string task = fs::path(options_.value("task_dir", "")).filename().string();
  if (task.size() > 3 && task.ends_with(".py")) task = task.substr(0, task.size() - 3);
  return json{{"run", dir_.filename().string()},
              {"dir", dir_.string()},
              {"task", task},
              {"task_path", options_.value("task_dir", "")},
              {"strategy", options_.value("strategy", "")},
              {"models", options_.value("llm", json::array())},
              {"state", state},
              {"candidates", total},
              {"verdicts", verdicts},
              {"islands", static_cast<int64_t>(islands.size())},
              {"best", best},
              {"final_comparison", final_comparison},
              {"budget",
               {{"evals", options_.value("budget_evals", 0)},
                {"cost_usd", options_.value("budget_cost_usd", 0.0)},
                {"time_s", options_.value("budget_time_s", 0.0)}}},
              {"spent",
               {{"evals", total},
                {"cost_usd", llm_.cost_usd},
                {"time_s", std::atof(time_used->value_or("0").c_str())},
                {"prompt_tokens", llm_.prompt_tokens},
                {"completion_tokens", llm_.completion_tokens},
                {"llm_calls", llm_.calls},
                {"llm_errors", llm_.errors}}},
              {"first_at", first_at},
              {"last_at", last_at}};
}

Result<json> RunView::Progress() {
  return Cached("progress", [&] {
    json overall = json::array();
    std::map<int, json> per_island;
    std::map<int, const Row*> island_best;
    const Row* best = nullptr;
    const Row* winner = WinnerLocked();
    const double t0 = rows_.empty() ? 0 : rows_.front().at;
    int64_t n = 0;
    for (const auto& r : rows_) {
      ++n;
      if (!per_island.count(r.island)) per_island[r.island] = json::array();
      if (r.verdict != "ok") continue;
      // [evaluation number, seconds since the first candidate, speedup, candidate id]
      const json point = json::array({n, r.at - t0, r.speedup, r.id});
      // The first correct candidate (the start) begins a chart; then each new best, up to the
      // run's winner (the final comparison's, which may differ from the best by one-off timings).
      const bool after_winner = winner && r.id > winner->id;
      if (!after_winner && (!best || BeatsLocked(r, best) || &r == winner)) {
        best = &r;
        overall.push_back(point);
      }
      if (!island_best[r.island] || BeatsLocked(r, island_best[r.island])) {
        island_best[r.island] = &r;
        per_island[r.island].push_back(point);
      }
    }
    json islands = json::array();
    for (auto& [island, points] : per_island) {
      islands.push_back({{"island", island}, {"steps", points}});
    }
    return json{{"evaluations", n},
                {"seconds", rows_.empty() ? 0.0 : rows_.back().at - t0},
                {"columns", {"evaluation", "seconds", "speedup", "id"}},
                {"best", overall},
                {"islands", islands}};
  });
}

Result<json> RunView::Lineage(int64_t after, int limit) {
  limit = std::clamp(limit, 1, 5000);
  return Cached("lineage/" + std::to_string(after) + "/" + std::to_string(limit), [&] {
    // Depths: a parent always precedes its child (ids grow), so one pass in id order.
    std::unordered_map<int64_t, int> depth;
    for (const auto& r : rows_) {
      auto it = depth.find(r.parent);
      depth[r.id] = it == depth.end() ? 0 : it->second + 1;
    }
    std::set<int64_t> best_path;
    if (const Row* b = WinnerLocked()) {
      for (const Row* r = b; r && !best_path.count(r->id); r = FindLocked(r->parent)) {
        best_path.insert(r->id);
      }
    }
    const int64_t max_id = rows_.empty() ? 0 : rows_.back().id;
    const int64_t from = after >= 0 ? after : std::max<int64_t>(0, max_id - limit);
    const int64_t to = after >= 0 ? after + limit : max_id;
    json nodes = json::array();
    for (const auto& r : rows_) {
      const bool on_path = best_path.count(r.id) > 0;
      if (!on_path && (r.id <= from || r.id > to)) continue;
      // [id, parent, island, verdict, speedup, depth, origin, on the best's lineage]
      nodes.push_back(json::array({r.id, r.parent, r.island, r.verdict, r.speedup, depth[r.id],
                                   r.origin, on_path ? 1 : 0}));
    }
    json migrations = json::array();
    for (const auto& m : migrations_) {
      if (m.candidate <= from || m.candidate > to) continue;
      migrations.push_back(json::array({m.step, m.candidate, m.from, m.to}));
      if (migrations.size() >= 5000) break;
    }
    return json{{"total", static_cast<int64_t>(rows_.size())},
                {"from", from},
                {"to", to},
                {"columns",
                 {"id", "parent", "island", "verdict", "speedup", "depth", "origin", "best_path"}},
                {"nodes", nodes},
                {"migrations", migrations},
                {"migration_columns", {"step", "candidate", "from_island", "to_island"}}};
  });
}

Result<json> RunView::Grid() {
  return Cached("grid", [&] { return GridLocked(); });
}

json RunView::GridLocked() const {
  if (options_.value("strategy", "") != "evolve") {
    return json{{"strategy", options_.value("strategy", "")},
                {"features", json::array()},
                {"cells", json::array()}};
  }
  const auto axes = search::EvolveFeatureAxes(options_.value("evolve", json::object()));
  json features = json::array();
  for (const auto& f : axes) {
    features.push_back({{"metric", f.metric}, {"min", f.min}, {"max", f.max}, {"bins", f.bins}});
  }
  // Each correct candidate in its own island's grid and in the grids it migrated to.
  std::unordered_map<int64_t, std::vector<int64_t>> moved_to;
  for (const auto& m : migrations_) moved_to[m.candidate].push_back(m.to);
  struct Elite {
    int64_t id = 0;
    double speedup = 0;
    int64_t count = 0;
  };
  std::map<std::pair<int64_t, std::vector<int>>, Elite> cells;
  for (const auto& r : rows_) {
    if (r.verdict != "ok" || r.features.size() != axes.size()) continue;
    std::vector<int> cell;
    for (size_t k = 0; k < axes.size(); ++k)
      cell.push_back(search::FeatureBin(r.features[k], axes[k]));
    std::vector<int64_t> islands = {r.island};
    if (auto it = moved_to.find(r.id); it != moved_to.end()) {
      islands.insert(islands.end(), it->second.begin(), it->second.end());
    }
    for (int64_t island : islands) {
      Elite& e = cells[{island, cell}];
      ++e.count;
      if (r.speedup > e.speedup) e = {r.id, r.speedup, e.count};
    }
  }
  json out = json::array();
  for (const auto& [key, e] : cells) {
    out.push_back({{"island", key.first},
                   {"cell", key.second},
                   {"id", e.id},
                   {"speedup", e.speedup},
                   {"count", e.count}});
  }
  return json{{"strategy", "evolve"}, {"features", features}, {"cells", out}};
}

Result<json> RunView::Roofline() {
  return Cached("roofline", [&] {
    json points = json::array();
    for (const auto& r : rows_) {
      if (!r.has_roofline) continue;
      // [id, island, speedup, time ms, flop/byte, GFLOP/s, GB/s, fraction of the roof]
      points.push_back(
          json::array({r.id, r.island, r.speedup, r.time_ms, r.bytes > 0 ? r.flops / r.bytes : 0.0,
                       r.gflops, r.gbps, r.fraction}));
    }
    return json{{"peak_gflops", peak_gflops_},
                {"peak_gbps", peak_gbps_},
                {"columns",
                 {"id", "island", "speedup", "time_ms", "intensity", "gflops", "gbps", "fraction"}},
                {"points", points}};
  });
}

Result<json> RunView::Candidates(const CandidateQuery& in) {
  CandidateQuery q = in;
  q.limit = std::clamp(q.limit, 1, 500);
  q.offset = std::max<int64_t>(0, q.offset);
  const std::string key = "candidates/" + std::to_string(q.offset) + "/" + std::to_string(q.limit) +
                          "/" + q.verdict + "/" + std::to_string(q.island) + "/" + q.sort;
  return Cached(key, [&] {
    std::vector<const Row*> match;
    for (const auto& r : rows_) {
      if ((q.verdict.empty() || r.verdict == q.verdict) && (q.island < 0 || r.island == q.island))
        match.push_back(&r);
    }
    if (q.sort == "speedup" || q.sort == "time") {
      // Correct candidates first, fastest first; the rest in id order.
      std::stable_sort(match.begin(), match.end(), [](const Row* a, const Row* b) {
        const bool ok_a = a->verdict == "ok", ok_b = b->verdict == "ok";
        if (ok_a != ok_b) return ok_a;
        return ok_a && a->speedup > b->speedup;
      });
    }
    json rows = json::array();
    for (size_t i = static_cast<size_t>(q.offset);
         i < match.size() && rows.size() < static_cast<size_t>(q.limit); ++i) {
      const Row& r = *match[i];
      rows.push_back({{"id", r.id},
                      {"parent", r.parent},
                      {"origin", r.origin},
                      {"island", r.island},
                      {"round", r.round},
                      {"verdict", r.verdict},
                      {"speedup", r.speedup},
                      {"time_ms", r.time_ms},
                      {"eval_seconds", r.eval_seconds},
                      {"at", r.at}});
      if (!r.params.empty()) rows.back()["params"] = ParseOr(r.params, json::object());
    }
    return json{{"total", static_cast<int64_t>(match.size())},
                {"offset", q.offset},
                {"limit", q.limit},
                {"rows", rows}};
  });
}

namespace {

json CandidateJson(const store::Candidate& c) {
  return {{"id", c.id},
          {"parent", c.parent_id},
          {"origin", c.origin},
          {"strategy", c.strategy},
          {"round", c.round},
          {"island", c.island},
          {"code", c.code},
          {"verdict", c.verdict},
          {"speedup", c.speedup},
          {"time_ms", c.time_ms},
          {"feedback", c.feedback},
          {"result", c.result},
          {"params", c.params},
          {"llm_call", c.llm_call},
          {"eval_seconds", c.eval_seconds},
          {"at", c.at}};
}

json CallJson(const store::CallDetail& call) {
  const json request = ParseOr(call.request, json::object());
  return {{"provider", call.provider},
          {"model", call.model},
          {"messages", request.value("messages", json::array())},
          {"reply", call.reply},
          {"finish_reason", call.finish_reason},
          {"prompt_tokens", call.prompt_tokens},
          {"completion_tokens", call.completion_tokens},
          {"latency_s", call.latency_s},
          {"cost_usd", call.cost_usd},
          {"cached", call.cached},
          {"error_kind", call.error_kind},
          {"error", call.error}};
}

}  // namespace

Result<json> RunView::Candidate(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = reader_->GetCandidate(id);
  if (!found.ok()) return found.status();
  if (!*found) return json(nullptr);
  const store::Candidate& cand = **found;
  json c = CandidateJson(cand);
  // The file's extension: .c, .cc, .cu, .py (the page picks its highlighting by it).
  const std::string ext = fs::path(cand.result.value("candidate", "")).extension().string();
  c["language"] = ext.empty() ? ".c" : ext;
  if (cand.parent_id > 0) {
    auto parent = reader_->GetCandidate(cand.parent_id);
    if (!parent.ok()) return parent.status();
    if (*parent) {
      const auto diff = LineDiff((*parent)->code, cand.code);
      json lines = json::array();
      for (const auto& d : diff) lines.push_back(json::array({std::string(1, d.op), d.text}));
      const auto [added, removed] = DiffStat(diff);
      c["parent_code"] = (*parent)->code;
      c["parent_verdict"] = (*parent)->verdict;
      c["parent_speedup"] = (*parent)->speedup;
      c["diff"] = lines;
      c["diff_stat"] = {{"added", added}, {"removed", removed}};
    }
  }
  if (auto synced = SyncLocked(); !synced.ok()) return synced.status();
  json children = json::array();
  for (const auto& r : rows_) {
    if (r.parent == id && children.size() < 200) children.push_back(r.id);
  }
  c["children"] = children;
  json call = nullptr;
  if (cand.llm_call > 0) {
    auto got = reader_->GetCall(cand.llm_call);
    if (!got.ok()) return got.status();
    if (*got) call = CallJson(**got);
  }
  c["llm"] = call;
  return c;
}

}  // namespace kf::web
