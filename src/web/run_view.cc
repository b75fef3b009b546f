#include "web/run_view.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <unordered_map>

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
  std::unique_ptr<RunView> view(new RunView(db, fs::absolute(run_dir, ec).lexically_normal()));
  if (!view->HasTable("meta") || !view->HasTable("candidates")) {
    return Status::Error(db_path.string() +
                         " is not a kforge run store (no meta or candidates table)");
  }
  Stmt q(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  const std::string version = sqlite3_step(q.s) == SQLITE_ROW ? q.Col(0) : "";
  if (version != std::to_string(search::RunStore::kSchemaVersion)) {
    return Status::Error(db_path.string() + " has schema version " +
                         (version.empty() ? std::string("(none)") : version) +
                         "; this kforge reads version " +
                         std::to_string(search::RunStore::kSchemaVersion));
  }
  return view;
}

RunView::~RunView() { sqlite3_close(db_); }

bool RunView::HasTable(const char* name) {
  Stmt q(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.Text(1, name);
  return sqlite3_step(q.s) == SQLITE_ROW;
}

std::string RunView::VersionLocked() {
  Stmt q(db_,
         "SELECT (SELECT coalesce(max(id), 0) FROM candidates), (SELECT count(*) FROM "
         "migrations), (SELECT value FROM meta WHERE key = 'time_used_s')");
  if (sqlite3_step(q.s) != SQLITE_ROW) return "";
  struct stat st {};
  const bool report = ::stat((dir_ / "report.json").c_str(), &st) == 0;
  return std::to_string(ColInt(q, 0)) + "/" + std::to_string(ColInt(q, 1)) + "/" + q.Col(2) + "/" +
         (report ? std::to_string(st.st_mtime) : "-");
}

template <typename F>
json RunView::Cached(const std::string& key, F build) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string version = VersionLocked();
  auto it = cache_.find(key);
  if (it != cache_.end() && it->second.first == version) return it->second.second;
  json body = build();
  cache_[key] = {version, body};
  return body;
}

json RunView::Summary() {
  return Cached("summary", [&] {
    json options = json::object();
    double time_used = 0;
    {
      Stmt q(db_, "SELECT key, value FROM meta");
      while (sqlite3_step(q.s) == SQLITE_ROW) {
        const std::string k = q.Col(0);
        if (k == "options") options = ParseOr(q.Col(1), json::object());
        if (k == "time_used_s") time_used = std::atof(q.Col(1).c_str());
      }
    }
    json verdicts = json::object();
    int64_t total = 0;
    {
      Stmt q(db_, "SELECT verdict, count(*) FROM candidates GROUP BY verdict ORDER BY 2 DESC");
      while (sqlite3_step(q.s) == SQLITE_ROW) {
        verdicts[q.Col(0)] = ColInt(q, 1);
        total += ColInt(q, 1);
      }
    }
    double first_at = 0, last_at = 0;
    int islands = 0;
    {
      Stmt q(db_, "SELECT min(at), max(at), count(DISTINCT island) FROM candidates");
      if (sqlite3_step(q.s) == SQLITE_ROW) {
        first_at = ColDouble(q, 0);
        last_at = ColDouble(q, 1);
        islands = static_cast<int>(ColInt(q, 2));
      }
    }
    json best = nullptr;
    {
      Stmt q(db_,
             "SELECT id, speedup, time_ms, result, island FROM candidates WHERE verdict = 'ok' "
             "ORDER BY speedup DESC, id LIMIT 1");
      if (sqlite3_step(q.s) == SQLITE_ROW) {
        const json r = ParseOr(q.Col(3), json::object());
        json baselines = json::array();
        baselines.push_back({{"name", r.value("baseline_name", "initial program")},
                             {"time_ms", r.value("baseline_time_ms", 0.0)},
                             {"speedup", ColDouble(q, 1)}});
        for (const auto& b : r.value("baselines", json::array())) {
          if (!b.is_object()) continue;
          baselines.push_back({{"name", b.value("name", "")},
                               {"time_ms", b.contains("time_ms") && b["time_ms"].is_object()
                                               ? b["time_ms"].value("median", 0.0)
                                               : 0.0},
                               {"speedup", b.value("speedup", 0.0)}});
        }
        best = {{"id", ColInt(q, 0)},
                {"speedup", ColDouble(q, 1)},
                {"time_ms", ColDouble(q, 2)},
                {"island", ColInt(q, 4)},
                {"baselines", baselines}};
      }
    }
    json llm = {{"calls", 0},
                {"errors", 0},
                {"prompt_tokens", 0},
                {"completion_tokens", 0},
                {"cost_usd", 0.0}};
    if (HasTable("llm_calls")) {
      Stmt q(db_,
             "SELECT count(*), coalesce(sum(error_kind IS NOT NULL AND error_kind != ''), 0), "
             "coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
             "coalesce(sum(cost_usd), 0) FROM llm_calls");
      if (sqlite3_step(q.s) == SQLITE_ROW) {
        llm = {{"calls", ColInt(q, 0)},
               {"errors", ColInt(q, 1)},
               {"prompt_tokens", ColInt(q, 2)},
               {"completion_tokens", ColInt(q, 3)},
               {"cost_usd", ColDouble(q, 4)}};
      }
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
    std::string task = options.value("task_dir", "");
    task = fs::path(task).filename().string();
    if (task.size() > 3 && task.ends_with(".py")) task = task.substr(0, task.size() - 3);
    return json{{"run", dir_.filename().string()},
                {"dir", dir_.string()},
                {"task", task},
                {"task_path", options.value("task_dir", "")},
                {"strategy", options.value("strategy", "")},
                {"models", options.value("llm", json::array())},
                {"state", state},
                {"candidates", total},
                {"verdicts", verdicts},
                {"islands", islands},
                {"best", best},
                {"budget",
                 {{"evals", options.value("budget_evals", 0)},
                  {"cost_usd", options.value("budget_cost_usd", 0.0)},
                  {"time_s", options.value("budget_time_s", 0.0)}}},
                {"spent",
                 {{"evals", total},
                  {"cost_usd", llm["cost_usd"]},
                  {"time_s", time_used},
                  {"prompt_tokens", llm["prompt_tokens"]},
                  {"completion_tokens", llm["completion_tokens"]},
                  {"llm_calls", llm["calls"]},
                  {"llm_errors", llm["errors"]}}},
                {"first_at", first_at},
                {"last_at", last_at}};
  });
}

json RunView::Progress() {
  return Cached("progress", [&] {
    Stmt q(db_, "SELECT id, at, island, verdict = 'ok', speedup FROM candidates ORDER BY id");
    json overall = json::array();
    std::map<int64_t, json> per_island;
    std::map<int64_t, double> island_best;
    double best = 0, t0 = -1;
    int64_t n = 0;
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      ++n;
      const double at = ColDouble(q, 1);
      if (t0 < 0) t0 = at;
      const int64_t island = ColInt(q, 2);
      if (!per_island.count(island)) per_island[island] = json::array();
      if (!ColInt(q, 3)) continue;
      const double s = ColDouble(q, 4);
      // [evaluation number, seconds since the first candidate, speedup, candidate id]
      const json point = json::array({n, at - t0, s, ColInt(q, 0)});
      if (s > best) {
        best = s;
        overall.push_back(point);
      }
      if (s > island_best[island]) {
        island_best[island] = s;
        per_island[island].push_back(point);
      }
    }
    json islands = json::array();
    for (auto& [island, points] : per_island) {
      islands.push_back({{"island", island}, {"steps", points}});
    }
    return json{{"evaluations", n},
                {"seconds", n ? ColDouble(q, 1) : 0.0},
                {"columns", {"evaluation", "seconds", "speedup", "id"}},
                {"best", overall},
                {"islands", islands}};
  });
}

json RunView::Lineage(int64_t after, int limit) {
  limit = std::clamp(limit, 1, 5000);
  return Cached("lineage/" + std::to_string(after) + "/" + std::to_string(limit), [&] {
    // Parents of all (ids and parents only: cheap) for depths and the best's ancestors.
    std::unordered_map<int64_t, int64_t> parent;
    int64_t max_id = 0;
    {
      Stmt q(db_, "SELECT id, coalesce(parent_id, 0) FROM candidates");
      while (sqlite3_step(q.s) == SQLITE_ROW) {
        parent[ColInt(q, 0)] = ColInt(q, 1);
        max_id = std::max(max_id, ColInt(q, 0));
      }
    }
    std::unordered_map<int64_t, int> depth_memo;
    auto depth = [&](int64_t id) {
      std::vector<int64_t> chain;
      int64_t cur = id;
      while (cur && !depth_memo.count(cur) && chain.size() <= parent.size()) {
        chain.push_back(cur);
        auto it = parent.find(cur);
        cur = it == parent.end() ? 0 : it->second;
      }
      int d = cur && depth_memo.count(cur) ? depth_memo[cur] + 1 : 0;
      for (auto c = chain.rbegin(); c != chain.rend(); ++c) depth_memo[*c] = d++;
      return depth_memo[id];
    };
    std::set<int64_t> best_path;
    {
      Stmt q(db_,
             "SELECT id FROM candidates WHERE verdict = 'ok' ORDER BY speedup DESC, id LIMIT 1");
      if (sqlite3_step(q.s) == SQLITE_ROW) {
        for (int64_t id = ColInt(q, 0); id && !best_path.count(id);) {
          best_path.insert(id);
          auto it = parent.find(id);
          id = it == parent.end() ? 0 : it->second;
        }
      }
    }
    const int64_t from = after >= 0 ? after : std::max<int64_t>(0, max_id - limit);
    const int64_t to = after >= 0 ? after + limit : max_id;
    json nodes = json::array();
    auto add = [&](Stmt& q) {
      const int64_t id = ColInt(q, 0);
      // [id, parent, island, verdict, speedup, depth, origin, on the best's lineage]
      nodes.push_back(json::array({id, ColInt(q, 1), ColInt(q, 2), q.Col(3), ColDouble(q, 4),
                                   depth(id), q.Col(5), best_path.count(id) ? 1 : 0}));
    };
    {
      Stmt q(db_,
             "SELECT id, coalesce(parent_id, 0), island, verdict, coalesce(speedup, 0), origin "
             "FROM candidates WHERE id > ? AND id <= ? ORDER BY id");
      sqlite3_bind_int64(q.s, 1, from);
      sqlite3_bind_int64(q.s, 2, to);
      while (sqlite3_step(q.s) == SQLITE_ROW) add(q);
    }
    // The best's ancestors outside the window, so its lineage is always whole.
    for (int64_t id : best_path) {
      if (id > from && id <= to) continue;
      Stmt q(db_,
             "SELECT id, coalesce(parent_id, 0), island, verdict, coalesce(speedup, 0), origin "
             "FROM candidates WHERE id = ?");
      sqlite3_bind_int64(q.s, 1, id);
      if (sqlite3_step(q.s) == SQLITE_ROW) add(q);
    }
    std::sort(nodes.begin(), nodes.end(), [](const json& a, const json& b) {
      return a[0].get<int64_t>() < b[0].get<int64_t>();
    });
    json migrations = json::array();
    {
      Stmt q(db_,
             "SELECT step, candidate_id, from_island, to_island FROM migrations WHERE "
             "candidate_id > ? AND candidate_id <= ? ORDER BY step LIMIT 5000");
      sqlite3_bind_int64(q.s, 1, from);
      sqlite3_bind_int64(q.s, 2, to);
      while (sqlite3_step(q.s) == SQLITE_ROW) {
        migrations.push_back(json::array({ColInt(q, 0), ColInt(q, 1), ColInt(q, 2), ColInt(q, 3)}));
      }
    }
    return json{{"total", static_cast<int64_t>(parent.size())},
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
    json options = json::object();
    {
      Stmt q(db_, "SELECT value FROM meta WHERE key = 'options'");
      if (sqlite3_step(q.s) == SQLITE_ROW) options = ParseOr(q.Col(0), json::object());
    }
    if (options.value("strategy", "") != "evolve") {
      return json{{"strategy", options.value("strategy", "")},
                  {"features", json::array()},
                  {"cells", json::array()}};
    }
    const auto axes = search::EvolveFeatureAxes(options.value("evolve", json::object()));
    json features = json::array();
    std::string cols;
    for (const auto& f : axes) {
      features.push_back({{"metric", f.metric}, {"min", f.min}, {"max", f.max}, {"bins", f.bins}});
      cols += ", " + MetricSql(f.metric);
    }
    // Each correct candidate in its own island's grid and in the grids it migrated to.
    std::unordered_map<int64_t, std::vector<int64_t>> moved_to;
    {
      Stmt q(db_, "SELECT candidate_id, to_island FROM migrations");
      while (sqlite3_step(q.s) == SQLITE_ROW) moved_to[ColInt(q, 0)].push_back(ColInt(q, 1));
    }
    struct Elite {
      int64_t id = 0;
      double speedup = 0;
      int64_t count = 0;
    };
    std::map<std::pair<int64_t, std::vector<int>>, Elite> cells;
    Stmt q(db_, ("SELECT id, island, speedup" + cols +
                 " FROM candidates WHERE verdict = 'ok' ORDER BY id")
                    .c_str());
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      std::vector<int> cell;
      for (size_t k = 0; k < axes.size(); ++k) {
        cell.push_back(Bin(ColDouble(q, static_cast<int>(3 + k)), axes[k]));
      }
      std::vector<int64_t> islands = {ColInt(q, 1)};
      if (auto it = moved_to.find(ColInt(q, 0)); it != moved_to.end()) {
        islands.insert(islands.end(), it->second.begin(), it->second.end());
      }
      for (int64_t island : islands) {
        Elite& e = cells[{island, cell}];
        ++e.count;
        if (ColDouble(q, 2) > e.speedup) e = {ColInt(q, 0), ColDouble(q, 2), e.count};
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
    Stmt q(db_,
           "SELECT id, island, speedup, time_ms, json_extract(result, '$.roofline.flops'), "
           "json_extract(result, '$.roofline.bytes'), "
           "json_extract(result, '$.roofline.achieved_gflops'), "
           "json_extract(result, '$.roofline.achieved_gbps'), "
           "json_extract(result, '$.roofline.fraction'), "
           "json_extract(result, '$.roofline.peak_gflops'), "
           "json_extract(result, '$.roofline.peak_gbps') "
           "FROM candidates WHERE verdict = 'ok' AND json_extract(result, '$.roofline') IS NOT "
           "NULL ORDER BY id");
    json points = json::array();
    double peak_gflops = 0, peak_gbps = 0;
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      const double flops = ColDouble(q, 4), bytes = ColDouble(q, 5);
      // [id, island, speedup, time ms, flop/byte, GFLOP/s, GB/s, fraction of the roof]
      points.push_back(json::array({ColInt(q, 0), ColInt(q, 1), ColDouble(q, 2), ColDouble(q, 3),
                                    bytes > 0 ? flops / bytes : 0.0, ColDouble(q, 6),
                                    ColDouble(q, 7), ColDouble(q, 8)}));
      if (!IsNull(q, 9)) peak_gflops = ColDouble(q, 9);
      if (!IsNull(q, 10)) peak_gbps = ColDouble(q, 10);
    }
    return json{{"peak_gflops", peak_gflops},
                {"peak_gbps", peak_gbps},
                {"columns",
                 {"id", "island", "speedup", "time_ms", "intensity", "gflops", "gbps", "fraction"}},
                {"points", points}};
  });
}

json RunView::Candidates(const CandidateQuery& in) {
  CandidateQuery q = in;
  q.limit = std::clamp(q.limit, 1, 500);
  q.offset = std::max<int64_t>(0, q.offset);
  const std::string order = q.sort == "speedup" ? "speedup DESC, id"
                            : q.sort == "time"  ? "CASE WHEN verdict = 'ok' THEN 0 ELSE 1 END, "
                                                  "time_ms, id"
                                                : "id";
  const std::string key = "candidates/" + std::to_string(q.offset) + "/" + std::to_string(q.limit) +
                          "/" + q.verdict + "/" + std::to_string(q.island) + "/" + order;
  return Cached(key, [&] {
    const std::string where = " WHERE (?1 = '' OR verdict = ?1) AND (?2 < 0 OR island = ?2)";
    int64_t total = 0;
    {
      Stmt c(db_, ("SELECT count(*) FROM candidates" + where).c_str());
      c.Text(1, q.verdict);
      sqlite3_bind_int(c.s, 2, q.island);
      if (sqlite3_step(c.s) == SQLITE_ROW) total = ColInt(c, 0);
    }
    Stmt s(db_, ("SELECT id, coalesce(parent_id, 0), origin, island, round, verdict, "
                 "coalesce(speedup, 0), coalesce(time_ms, 0), coalesce(eval_seconds, 0), at, "
                 "length(code) FROM candidates" +
                 where + " ORDER BY " + order + " LIMIT ?3 OFFSET ?4")
                    .c_str());
    s.Text(1, q.verdict);
    sqlite3_bind_int(s.s, 2, q.island);
    sqlite3_bind_int(s.s, 3, q.limit);
    sqlite3_bind_int64(s.s, 4, q.offset);
    json rows = json::array();
    while (sqlite3_step(s.s) == SQLITE_ROW) {
      rows.push_back({{"id", ColInt(s, 0)},
                      {"parent", ColInt(s, 1)},
                      {"origin", s.Col(2)},
                      {"island", ColInt(s, 3)},
                      {"round", ColInt(s, 4)},
                      {"verdict", s.Col(5)},
                      {"speedup", ColDouble(s, 6)},
                      {"time_ms", ColDouble(s, 7)},
                      {"eval_seconds", ColDouble(s, 8)},
                      {"at", ColDouble(s, 9)},
                      {"code_bytes", ColInt(s, 10)}});
    }
    return json{{"total", total}, {"offset", q.offset}, {"limit", q.limit}, {"rows", rows}};
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
  {
    Stmt q(db_, "SELECT id FROM candidates WHERE parent_id = ? ORDER BY id LIMIT 200");
    sqlite3_bind_int64(q.s, 1, id);
    while (sqlite3_step(q.s) == SQLITE_ROW) children.push_back(ColInt(q, 0));
  }
  c["children"] = children;
  json call = nullptr;
  if (c["llm_call"].get<int64_t>() > 0 && HasTable("llm_calls")) {
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
