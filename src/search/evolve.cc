// `--strategy evolve`: evolutionary search over a program database, after OpenEvolve and
// AlphaEvolve. Islands take turns; each keeps a MAP-Elites grid (one elite per cell of the
// feature dimensions: the fastest correct program there) and an archive of its correct
// programs. A step picks a parent on the island (exploration: any program of the archive;
// exploitation: a tournament among the elites; else the island's best), shows the model the
// parent, the island's top programs and a diverse elite as inspirations, and its recent failed
// edits (all islands at once, one generation), and asks for SEARCH/REPLACE edits inside
// EVOLVE-BLOCK regions (or a whole program, with edits: rewrite). Every migration_interval steps
// each island's best is copied to the next island (a ring). The evaluator's stages are the cascade:
// static checks, compile and the small check sizes stop a bad child before the bench-size check and
// the timing.
//
// Config (optimize.evolve): islands (3), migration_interval (10 steps), exploration_ratio (0.2),
// exploitation_ratio (0.7), inspirations (2), edits ("diff" or "rewrite"), features (list of
// {metric, min, max, bins}; metric "code_size" or a dotted path into the evaluator's result such
// as "roofline.fraction"; default code_size over [0, 8000] and roofline.fraction over [0, 1], 6
// bins each).
#include <algorithm>
#include <future>
#include <map>
#include <random>
#include <sstream>

#include "llm/code.h"
#include "search/edits.h"
#include "search/evolve_features.h"
#include "search/run_context.h"
#include "util/subprocess.h"

namespace kf::search {
namespace {

using json = nlohmann::json;

using Feature = FeatureAxis;

struct EvolveConfig {
  int islands = 3;
  int migration_interval = 10;
  double exploration = 0.2, exploitation = 0.7;
  int inspirations = 2;
  bool diff = true;
  std::vector<Feature> features = {{"code_size", 0, 8000, 6}, {"roofline.fraction", 0, 1, 6}};
};

Result<EvolveConfig> ReadConfig(const json& j) {
  EvolveConfig c;
  if (!j.is_object()) return Status::Error("optimize.evolve: expected a mapping");
  static const char* kKeys[] = {"islands",           "migration_interval",
                                "exploration_ratio", "exploitation_ratio",
                                "inspirations",      "edits",
                                "features"};
  for (const auto& [k, v] : j.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys)) {
      return Status::Error("optimize.evolve." + k +
                           ": unknown key (islands, migration_interval, exploration_ratio, "
                           "exploitation_ratio, inspirations, edits, features)");
    }
  }
  auto number = [&](const char* key, double lo, double hi, double* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_number() || j[key].get<double>() < lo || j[key].get<double>() > hi) {
      return Status::Error(std::string("optimize.evolve.") + key + ": expected a number in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    *out = j[key].get<double>();
    return Status::Ok();
  };
  double islands = c.islands, interval = c.migration_interval, insp = c.inspirations;
  for (auto s :
       {number("islands", 1, 64, &islands), number("migration_interval", 1, 1e6, &interval),
        number("exploration_ratio", 0, 1, &c.exploration),
        number("exploitation_ratio", 0, 1, &c.exploitation),
        number("inspirations", 0, 10, &insp)}) {
    if (!s.ok()) return s;
  }
  c.islands = static_cast<int>(islands);
  c.migration_interval = static_cast<int>(interval);
  c.inspirations = static_cast<int>(insp);
  if (c.exploration + c.exploitation > 1) {
    return Status::Error("optimize.evolve: exploration_ratio + exploitation_ratio exceed 1");
  }
  if (j.contains("edits")) {
    const std::string e = j["edits"].is_string() ? j["edits"].get<std::string>() : "";
    if (e != "diff" && e != "rewrite") {
      return Status::Error("optimize.evolve.edits: expected diff or rewrite");
    }
    c.diff = e == "diff";
  }
  if (j.contains("features")) {
    if (!j["features"].is_array() || j["features"].empty()) {
      return Status::Error("optimize.evolve.features: expected a list of {metric, min, max, bins}");
    }
    c.features.clear();
    for (const auto& f : j["features"]) {
      if (!f.is_object() || !f.contains("metric") || !f["metric"].is_string()) {
        return Status::Error(
            "optimize.evolve.features: each needs a metric (code_size, or a path "
            "such as roofline.fraction)");
      }
      Feature feat{f["metric"], f.value("min", 0.0), f.value("max", 1.0), f.value("bins", 6)};
      if (feat.max <= feat.min || feat.bins < 1) {
        return Status::Error("optimize.evolve.features." + feat.metric +
                             ": needs max > min, bins >= 1");
      }
      c.features.push_back(feat);
    }
  }
  return c;
}

// A number from the evaluator's result by dotted path ("roofline.fraction",
// "detail.resources.0.registers"); 0 when absent.
double Metric(const Candidate& c, const std::string& path) {
  if (path == "code_size") return static_cast<double>(c.code.size());
  if (path == "speedup") return c.speedup;
  const json* node = &c.result;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (node->is_object() && node->contains(part)) {
      node = &(*node)[part];
    } else if (node->is_array() && !part.empty() &&
               std::all_of(part.begin(), part.end(), ::isdigit) &&
               std::stoul(part) < node->size()) {
      node = &(*node)[std::stoul(part)];
    } else {
      return 0;
    }
  }
  return node->is_number() ? node->get<double>() : 0;
}

struct Island {
  std::vector<Candidate> archive;              // its correct programs
  std::map<std::vector<int>, Candidate> grid;  // cell -> elite
  std::vector<std::string> failures;           // recent failed edits, for the prompt
  std::optional<Candidate> best;
};

class Database {
 public:
  Database(EvolveConfig config, uint64_t seed) : config_(std::move(config)), rng_(seed) {
    islands_.resize(config_.islands);
  }

  std::vector<int> Cell(const Candidate& c) const {
    std::vector<int> cell;
    for (const auto& f : config_.features) cell.push_back(FeatureBin(Metric(c, f.metric), f));
    return cell;
  }

  void Add(int island, const Candidate& c) {
    if (c.verdict != "ok") return;
    Island& is = islands_[island];
    for (const auto& a : is.archive) {
      if (a.id == c.id) return;
    }
    is.archive.push_back(c);
    auto cell = Cell(c);
    auto it = is.grid.find(cell);
    if (it == is.grid.end() || c.speedup > it->second.speedup) is.grid[cell] = c;
    if (!is.best || c.speedup > is.best->speedup) is.best = c;
  }

  void Fail(int island, const std::string& what) {
    auto& f = islands_[island].failures;
    f.push_back(what);
    if (f.size() > 3) f.erase(f.begin());
  }

  Candidate Parent(int island) {
    Island& is = islands_[island];
    const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < config_.exploration) {
      return is.archive[std::uniform_int_distribution<size_t>(0, is.archive.size() - 1)(rng_)];
    }
    if (r < config_.exploration + config_.exploitation) {
      std::vector<const Candidate*> elites;
      for (const auto& [cell, c] : is.grid) elites.push_back(&c);
      const Candidate* pick = nullptr;
      for (int t = 0; t < 3; ++t) {
        const Candidate* c =
            elites[std::uniform_int_distribution<size_t>(0, elites.size() - 1)(rng_)];
        if (!pick || c->speedup > pick->speedup) pick = c;
      }
      return *pick;
    }
    return *is.best;
  }

  // The island's fastest programs other than the parent, and one elite from another cell.
  std::vector<Candidate> Inspirations(int island, const Candidate& parent) {
    Island& is = islands_[island];
    std::vector<Candidate> sorted = is.archive;
    std::sort(sorted.begin(), sorted.end(),
              [](const Candidate& a, const Candidate& b) { return a.speedup > b.speedup; });
    std::vector<Candidate> out;
    for (const auto& c : sorted) {
      if (static_cast<int>(out.size()) >= config_.inspirations) break;
      if (c.id != parent.id) out.push_back(c);
    }
    std::vector<const Candidate*> diverse;
    const auto parent_cell = Cell(parent);
    for (const auto& [cell, c] : is.grid) {
      bool taken = c.id == parent.id || cell == parent_cell;
      for (const auto& o : out) taken |= o.id == c.id;
      if (!taken) diverse.push_back(&c);
    }
    if (!diverse.empty()) {
      out.push_back(*diverse[std::uniform_int_distribution<size_t>(0, diverse.size() - 1)(rng_)]);
    }
    return out;
  }

  // Ring migration: each island's best goes to the next island.
  [[nodiscard]] Status Migrate(RunStore& store, int64_t step) {
    std::vector<std::optional<Candidate>> bests;
    for (const auto& is : islands_) bests.push_back(is.best);
    for (int i = 0; i < config_.islands && config_.islands > 1; ++i) {
      if (!bests[i]) continue;
      const int to = (i + 1) % config_.islands;
      Add(to, *bests[i]);
      Status st = store.AddMigration(step, bests[i]->id, i, to);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  const std::vector<std::string>& failures(int island) const { return islands_[island].failures; }
  const EvolveConfig& config() const { return config_; }

 private:
  EvolveConfig config_;
  std::mt19937_64 rng_;
  std::vector<Island> islands_;
};

std::string InspirationsText(const std::vector<Candidate>& programs, const std::string& lang) {
  if (programs.empty()) return "(none yet)\n";
  std::string s;
  for (const auto& c : programs) {
    s += "Candidate #" + std::to_string(c.id) + ", " + SummaryText(c) + ":\n\n```" + lang + "\n" +
         c.code + "\n```\n\n";
  }
  return s;
}

}  // namespace

Status RunEvolve(RunContext& ctx) {
  auto config = ReadConfig(ctx.options.evolve);
  if (!config.ok()) return config.status();
  Database db(*config, ctx.options.seed);
  for (int i = 0; i < config->islands; ++i) db.Add(i, *ctx.initial);
  // Generations: every island picks a parent and sends its request at once; the replies are
  // judged in island order as they arrive, so the evaluator works while the other requests are
  // still being answered. The picks of a generation come before its results, in a fixed order,
  // so a replay makes the same choices.
  int64_t step = 0;
  while (!ctx.ShouldStop()) {
    const int64_t room =
        ctx.options.budget_evals > 0 ? ctx.options.budget_evals - ctx.judged : config->islands;
    const int n = static_cast<int>(std::min<int64_t>(config->islands, room));
    struct Pending {
      int island;
      int64_t step;
      Candidate parent;
      std::future<llm::Completion> reply;
    };
    std::vector<Pending> pending;
    for (int island = 0; island < n; ++island) {
      const Candidate parent = db.Parent(island);
      const auto inspirations = db.Inspirations(island, parent);
      std::string failures;
      for (const auto& f : db.failures(island)) failures += "- " + f + "\n";
      auto messages = TaskMessages(ctx.prompts, ctx.task, ctx.lang, parent, *ctx.initial, "");
      std::string& user = messages.back().content;
      if (config->diff) {
        user +=
            "\n" + Fill(ctx.prompts.evolve,
                        {{"inspirations", InspirationsText(inspirations, ctx.lang)},
                         {"failures",
                          failures.empty() ? "" : "\n## Recent edits that failed\n\n" + failures}});
      } else {
        user += "\n## Programs to learn from\n\n" + InspirationsText(inspirations, ctx.lang) +
                (failures.empty() ? "" : "\n## Recent attempts that failed\n\n" + failures);
      }
      const llm::Request req = ctx.MakeRequest(messages, ++step);
      pending.push_back({island, step, parent, std::async(std::launch::async, [&ctx, req] {
                           return ctx.models->Complete(req);
                         })});
    }
    for (auto& p : pending) {
      const double t0 = MonotonicSeconds();
      llm::Completion got = p.reply.get();
      ctx.llm_seconds += MonotonicSeconds() - t0;
      auto reply = ctx.HandleReply(std::move(got));
      if (!reply || (ctx.interrupted && ctx.interrupted->load())) continue;
      Candidate extra;
      extra.origin = "llm";
      extra.strategy = "evolve";
      extra.round = static_cast<int>(p.step);
      extra.island = p.island;
      extra.parent_id = p.parent.id;
      Result<Candidate> child = Status::Error("");
      if (!reply->ok() || !config->diff) {
        child = ctx.JudgeReply(*reply, extra);
      } else {
        extra.llm_call = reply->reply.log_id;
        EditResult edit = ApplyEdits(p.parent.code, ParseSearchReplace(reply->reply.text));
        child = edit.ok ? ctx.Judge(edit.program, extra)
                        : ctx.RecordFailure(edit.verdict, edit.message, extra, reply->reply.text);
      }
      if (!child.ok()) return child.status();
      if (child->verdict == "ok") {
        db.Add(p.island, *child);
      } else {
        std::string what = child->feedback;
        if (what.size() > 300) what = what.substr(0, 300) + "...";
        db.Fail(p.island,
                "candidate #" + std::to_string(child->id) + ": " + child->verdict + ": " + what);
      }
      if (p.step % config->migration_interval == 0) {
        Status st = db.Migrate(*ctx.store, p.step);
        if (!st.ok()) return st;
      }
    }
  }
  return Status::Ok();
}

std::vector<FeatureAxis> EvolveFeatureAxes(const json& evolve) {
  auto c = ReadConfig(evolve.is_null() ? json::object() : evolve);
  return c.ok() ? c->features : EvolveConfig{}.features;
}

int FeatureBin(double value, const FeatureAxis& axis) {
  const double x = (value - axis.min) / (axis.max - axis.min);
  return std::clamp(static_cast<int>(x * axis.bins), 0, axis.bins - 1);
}

}  // namespace kf::search
