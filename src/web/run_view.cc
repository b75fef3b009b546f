#include "web/run_view.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <unordered_map>

#include "eval/verdict.h"
#include "search/evolve_features.h"
#include "search/run_store.h"
#include "util/sqlite_stmt.h"
#include "web/line_diff.h"

namespace kf::web {
namespace fs = std::filesystem;
using json = nlohmann::json;
using Stmt = SqliteStmt;

namespace {

// A run with no new candidate for this long and no report is `stopped` (killed; resumable).
constexpr double kRunningWindowS = 300;

double ColDouble(Stmt& q, int i) { return sqlite3_column_double(q.s, i); }
int64_t ColInt(Stmt& q, int i) { return sqlite3_column_int64(q.s, i); }
bool IsNull(Stmt& q, int i) { return sqlite3_column_type(q.s, i) == SQLITE_NULL; }

json ParseOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// "roofline.fraction" -> "$.roofline.fraction"; "baselines.0.speedup" -> "$.baselines[0].speedup".
std::string JsonPath(const std::string& dotted) {
  std::string out = "$";
  size_t at = 0;
  while (at <= dotted.size()) {
    size_t dot = dotted.find('.', at);
    if (dot == std::string::npos) dot = dotted.size();
    const std::string part = dotted.substr(at, dot - at);
    const bool index = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    out += index ? "[" + part + "]" : "." + part;
    at = dot + 1;
  }
  return out;
}

// The SQL expression of an evolve feature metric (search/evolve.cc's Metric).
std::string MetricSql(const std::string& metric) {
  if (metric == "code_size") return "length(code)";
  if (metric == "speedup") return "speedup";
  std::string path = JsonPath(metric);
  std::string quoted;
  for (char c : path) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "coalesce(json_extract(result, '" + quoted + "'), 0)";
}

int Bin(double value, const search::FeatureAxis& f) {
  const double x = (value - f.min) / (f.max - f.min);
  return std::clamp(static_cast<int>(x * f.bins), 0, f.bins - 1);
}

}  // namespace

Result<std::unique_ptr<RunView>> RunView::Open(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) {
    return Status::Error(run_dir.string() + " is not a directory");
  }
  const fs::path db_path = run_dir / "run.sqlite";
  if (!fs::is_regular_file(db_path, ec)) {
    return Status::Error(run_dir.string() +
                         " is not a kforge run: it has no run.sqlite (kforge optimize --out DIR "
                         "writes one)");
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error("cannot open " + db_path.string() + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  fs::path dir = fs::absolute(run_dir, ec).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/" names x
  std::unique_ptr<RunView> view(new RunView(db, dir));
  if (!view->HasTable("meta")) {
    return Status::Error(db_path.string() + " is not a kforge run store (no meta table)");
  }
  Stmt q(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  const std::string version = sqlite3_step(q.s) == SQLITE_ROW ? q.Col(0) : "";
  if (version != std::to_string(search::RunStore::kSchemaVersion)) {
    return Status::Error(db_path.string() + " has schema version " +
                         (version.empty() ? std::string("(none)") : version) +
                         "; this kforge reads version " +
                         std::to_string(search::RunStore::kSchemaVersion));
  }
  if (!view->HasTable("candidates")) {
    return Status::Error(db_path.string() + " is not a kforge run store (no candidates table)");
  }
  view->has_migrations_ = view->HasTable("migrations");  // stores from before evolve lack it
  view->has_llm_calls_ = view->HasTable("llm_calls");
  return view;
}

RunView::~RunView() { sqlite3_close(db_); }

bool RunView::HasTable(const char* name) {
  Stmt q(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.Text(1, name);
  return sqlite3_step(q.s) == SQLITE_ROW;
}

std::string RunView::SyncLocked() {
  // One read transaction, so every table is seen at the same point of the run.
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  std::string time_used;
  {
    Stmt q(db_, "SELECT key, value FROM meta WHERE key IN ('options', 'time_used_s')");
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      if (q.Col(0) == "time_used_s") time_used = q.Col(1);
      if (q.Col(0) == "options" && options_.empty()) {
        options_ = ParseOr(q.Col(1), json::object());
        if (options_.value("strategy", "") == "evolve") {
          for (const auto& f : search::EvolveFeatureAxes(options_.value("evolve", json::object())))
            feature_sql_.push_back(MetricSql(f.metric));
        }
      }
    }
  }
  {
    std::string features;
    for (const auto& f : feature_sql_) features += ", " + f;
    Stmt q(db_, ("SELECT id, coalesce(parent_id, 0), coalesce(island, 0), coalesce(round, 0), "
                 "verdict, origin, coalesce(speedup, 0), coalesce(time_ms, 0), at, "
                 "coalesce(eval_seconds, 0), json_extract(result, '$.roofline.flops'), "
                 "json_extract(result, '$.roofline.bytes'), "
                 "json_extract(result, '$.roofline.achieved_gflops'), "
                 "json_extract(result, '$.roofline.achieved_gbps'), "
                 "json_extract(result, '$.roofline.fraction'), "
                 "json_extract(result, '$.roofline.peak_gflops'), "
                 "json_extract(result, '$.roofline.peak_gbps'), "
                 "nullif(nullif(coalesce(params, ''), '{}'), 'null'), "
                 "json_extract(result, '$.speedup_ci[0]')" +
                 features + " FROM candidates WHERE id > ? ORDER BY id")
                    .c_str());
    sqlite3_bind_int64(q.s, 1, rows_.empty() ? 0 : rows_.back().id);
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      Row r;
      r.id = ColInt(q, 0);
      r.parent = ColInt(q, 1);
      r.island = static_cast<int>(ColInt(q, 2));
      r.round = static_cast<int>(ColInt(q, 3));
      r.verdict = q.Col(4);
      r.origin = q.Col(5);
      r.speedup = ColDouble(q, 6);
      r.time_ms = ColDouble(q, 7);
      r.at = ColDouble(q, 8);
      r.eval_seconds = ColDouble(q, 9);
      r.has_roofline = r.verdict == "ok" && !IsNull(q, 10);
      r.flops = ColDouble(q, 10);
      r.bytes = ColDouble(q, 11);
      r.gflops = ColDouble(q, 12);
      r.gbps = ColDouble(q, 13);
      r.fraction = ColDouble(q, 14);
      if (r.has_roofline && !IsNull(q, 15)) peak_gflops_ = ColDouble(q, 15);
      if (r.has_roofline && !IsNull(q, 16)) peak_gbps_ = ColDouble(q, 16);
      for (size_t k = 0; k < feature_sql_.size(); ++k) {
        r.features.push_back(ColDouble(q, static_cast<int>(19 + k)));
      }
      if (!IsNull(q, 17)) r.params = q.Col(17);
      if (!IsNull(q, 18)) r.speedup_ci_low = ColDouble(q, 18);
      rows_.push_back(std::move(r));
    }
  }
  if (has_migrations_) {
    Stmt q(db_,
           "SELECT rowid, step, candidate_id, from_island, to_island FROM migrations WHERE "
           "rowid > ? ORDER BY rowid");
    sqlite3_bind_int64(q.s, 1, migrations_rowid_);
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      migrations_rowid_ = ColInt(q, 0);
      migrations_.push_back({ColInt(q, 1), ColInt(q, 2), ColInt(q, 3), ColInt(q, 4)});
    }
  }
  if (has_llm_calls_) {
    Stmt q(db_,
           "SELECT coalesce(max(id), 0), count(*), coalesce(sum(error_kind IS NOT NULL AND "
           "error_kind != ''), 0), coalesce(sum(prompt_tokens), 0), "
           "coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0) FROM llm_calls "
           "WHERE id > ?");
    sqlite3_bind_int64(q.s, 1, llm_id_);
    if (sqlite3_step(q.s) == SQLITE_ROW && ColInt(q, 1) > 0) {
      llm_id_ = ColInt(q, 0);
      llm_calls_ += ColInt(q, 1);
      llm_errors_ += ColInt(q, 2);
      prompt_tokens_ += ColInt(q, 3);
      completion_tokens_ += ColInt(q, 4);
      cost_usd_ += ColDouble(q, 5);
    }
  }
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  struct stat st {};
  const bool report = ::stat((dir_ / "report.json").c_str(), &st) == 0;
  // The state depends on the clock too (running turns into stopped): minutes count.
  const int64_t minute = static_cast<int64_t>(std::time(nullptr)) / 60;
  return std::to_string(rows_.size()) + "/" + std::to_string(migrations_.size()) + "/" +
         std::to_string(llm_id_) + "/" + time_used + "/" +
         (report ? std::to_string(st.st_mtime) : "-") + "/" + std::to_string(minute);
}

template <typename F>
json RunView::Cached(const std::string& key, F build) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string version = SyncLocked();
  auto it = cache_.find(key);
  if (it != cache_.end() && it->second.first == version) return it->second.second;
  json body = build();
  if (cache_.size() > 256) cache_.clear();  // pages of many filters: keep it bounded
  cache_[key] = {version, body};
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

const RunView::Row* RunView::FindLocked(int64_t id) const {
  auto it = std::lower_bound(rows_.begin(), rows_.end(), id,
                             [](const Row& r, int64_t v) { return r.id < v; });
  return it != rows_.end() && it->id == id ? &*it : nullptr;
}

json RunView::Summary() {
  return Cached("summary", [&] {
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
    double time_used = 0;
    {
      Stmt q(db_, "SELECT value FROM meta WHERE key = 'time_used_s'");
      if (sqlite3_step(q.s) == SQLITE_ROW) time_used = std::atof(q.Col(0).c_str());
    }
    json best = nullptr;
    if (const Row* b = BestLocked()) {
      Stmt q(db_, "SELECT result FROM candidates WHERE id = ?");
      sqlite3_bind_int64(q.s, 1, b->id);
      const json r =
          sqlite3_step(q.s) == SQLITE_ROW ? ParseOr(q.Col(0), json::object()) : json::object();
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
                {"budget",
                 {{"evals", options_.value("budget_evals", 0)},
                  {"cost_usd", options_.value("budget_cost_usd", 0.0)},
                  {"time_s", options_.value("budget_time_s", 0.0)}}},
                {"spent",
                 {{"evals", total},
                  {"cost_usd", cost_usd_},
                  {"time_s", time_used},
                  {"prompt_tokens", prompt_tokens_},
                  {"completion_tokens", completion_tokens_},
                  {"llm_calls", llm_calls_},
                  {"llm_errors", llm_errors_}}},
                {"first_at", first_at},
                {"last_at", last_at}};
  });
}

json RunView::Progress() {
  return Cached("progress", [&] {
    json overall = json::array();
    std::map<int, json> per_island;
    std::map<int, const Row*> island_best;
    const Row* best = nullptr;
    const double t0 = rows_.empty() ? 0 : rows_.front().at;
    int64_t n = 0;
    for (const auto& r : rows_) {
      ++n;
      if (!per_island.count(r.island)) per_island[r.island] = json::array();
      if (r.verdict != "ok") continue;
      // [evaluation number, seconds since the first candidate, speedup, candidate id]
      const json point = json::array({n, r.at - t0, r.speedup, r.id});
      // The first correct candidate (the start) begins a chart; then each new winner.
      if (!best || BeatsLocked(r, best)) {
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

json RunView::Lineage(int64_t after, int limit) {
  limit = std::clamp(limit, 1, 5000);
  return Cached("lineage/" + std::to_string(after) + "/" + std::to_string(limit), [&] {
    // Depths: a parent always precedes its child (ids grow), so one pass in id order.
    std::unordered_map<int64_t, int> depth;
    for (const auto& r : rows_) {
      auto it = depth.find(r.parent);
      depth[r.id] = it == depth.end() ? 0 : it->second + 1;
    }
    std::set<int64_t> best_path;
    if (const Row* b = BestLocked()) {
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

json RunView::Grid() {
  return Cached("grid", [&] {
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
      for (size_t k = 0; k < axes.size(); ++k) cell.push_back(Bin(r.features[k], axes[k]));
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
  });
}

json RunView::Roofline() {
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

json RunView::Candidates(const CandidateQuery& in) {
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

Result<json> RunView::Candidate(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto row = [&](int64_t which, json* out) {
    Stmt q(db_,
           "SELECT id, coalesce(parent_id, 0), origin, strategy, round, island, code, verdict, "
           "coalesce(speedup, 0), coalesce(time_ms, 0), feedback, result, params, "
           "coalesce(llm_call, 0), coalesce(eval_seconds, 0), at FROM candidates WHERE id = ?");
    sqlite3_bind_int64(q.s, 1, which);
    if (sqlite3_step(q.s) != SQLITE_ROW) return false;
    *out = {{"id", ColInt(q, 0)},
            {"parent", ColInt(q, 1)},
            {"origin", q.Col(2)},
            {"strategy", q.Col(3)},
            {"round", ColInt(q, 4)},
            {"island", ColInt(q, 5)},
            {"code", q.Col(6)},
            {"verdict", q.Col(7)},
            {"speedup", ColDouble(q, 8)},
            {"time_ms", ColDouble(q, 9)},
            {"feedback", q.Col(10)},
            {"result", ParseOr(q.Col(11), json::object())},
            {"params", ParseOr(q.Col(12), json::object())},
            {"llm_call", ColInt(q, 13)},
            {"eval_seconds", ColDouble(q, 14)},
            {"at", ColDouble(q, 15)}};
    return true;
  };
  json c;
  if (!row(id, &c)) return Status::Error("no candidate " + std::to_string(id) + " in this run");
  const std::string file = c["result"].value("candidate", "");
  // The file's extension: .c, .cc, .cu, .py (the page picks its highlighting by it).
  const std::string ext = fs::path(file).extension().string();
  c["language"] = ext.empty() ? ".c" : ext;
  json parent = nullptr;
  if (c["parent"].get<int64_t>() > 0 && row(c["parent"].get<int64_t>(), &parent)) {
    const auto diff = LineDiff(parent["code"].get<std::string>(), c["code"].get<std::string>());
    json lines = json::array();
    for (const auto& d : diff) lines.push_back(json::array({std::string(1, d.op), d.text}));
    const auto [added, removed] = DiffStat(diff);
    c["parent_code"] = parent["code"];
    c["parent_verdict"] = parent["verdict"];
    c["parent_speedup"] = parent["speedup"];
    c["diff"] = lines;
    c["diff_stat"] = {{"added", added}, {"removed", removed}};
  }
  json children = json::array();
  SyncLocked();
  for (const auto& r : rows_) {
    if (r.parent == id && children.size() < 200) children.push_back(r.id);
  }
  c["children"] = children;
  json call = nullptr;
  if (c["llm_call"].get<int64_t>() > 0 && has_llm_calls_) {
    Stmt q(db_,
           "SELECT provider, model, request, reply, finish_reason, prompt_tokens, "
           "completion_tokens, latency_s, cost_usd, cached, error_kind, error FROM llm_calls "
           "WHERE id = ?");
    sqlite3_bind_int64(q.s, 1, c["llm_call"].get<int64_t>());
    if (sqlite3_step(q.s) == SQLITE_ROW) {
      const json request = ParseOr(q.Col(2), json::object());
      call = {{"provider", q.Col(0)},
              {"model", q.Col(1)},
              {"messages", request.value("messages", json::array())},
              {"reply", q.Col(3)},
              {"finish_reason", q.Col(4)},
              {"prompt_tokens", ColInt(q, 5)},
              {"completion_tokens", ColInt(q, 6)},
              {"latency_s", ColDouble(q, 7)},
              {"cost_usd", ColDouble(q, 8)},
              {"cached", ColInt(q, 9) != 0},
              {"error_kind", q.Col(10)},
              {"error", q.Col(11)}};
    }
  }
  c["llm"] = call;
  return c;
}

}  // namespace kf::web
