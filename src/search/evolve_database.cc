#include "search/evolve_database.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace kf::search {

using json = nlohmann::json;

Result<EvolveConfig> ReadEvolveConfig(const json& j) {
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
      FeatureAxis feat{f["metric"], f.value("min", 0.0), f.value("max", 1.0), f.value("bins", 6)};
      if (feat.max <= feat.min || feat.bins < 1) {
        return Status::Error("optimize.evolve.features." + feat.metric +
                             ": needs max > min, bins >= 1");
      }
      c.features.push_back(feat);
    }
  }
  return c;
}

double EvolveMetric(const Candidate& c, const std::string& path) {
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

EvolveDatabase::EvolveDatabase(EvolveConfig config, uint64_t seed)
    : config_(std::move(config)), rng_(seed) {
  islands_.resize(config_.islands);
}

std::vector<int> EvolveDatabase::Cell(const Candidate& c) const {
  std::vector<int> cell;
  for (const auto& f : config_.features) cell.push_back(FeatureBin(EvolveMetric(c, f.metric), f));
  return cell;
}

void EvolveDatabase::Add(int island, const Candidate& c) {
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

void EvolveDatabase::Fail(int island, const std::string& what) {
  auto& f = islands_[island].failures;
  f.push_back(what);
  if (f.size() > 3) f.erase(f.begin());
}

Candidate EvolveDatabase::Parent(int island) {
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

std::vector<Candidate> EvolveDatabase::Inspirations(int island, const Candidate& parent) {
  Island& is = islands_[island];
  // The island's fastest programs by their own time; while the island has few (early in a run,
  // only the starting program), the fastest of the other islands fill in.
  auto fastest = [](const Candidate& a, const Candidate& b) {
    return a.time_ms < b.time_ms || (a.time_ms == b.time_ms && a.id < b.id);
  };
  std::vector<Candidate> sorted = is.archive;
  std::sort(sorted.begin(), sorted.end(), fastest);
  std::vector<Candidate> others;
  for (size_t i = 0; i < islands_.size(); ++i) {
    if (static_cast<int>(i) == island) continue;
    others.insert(others.end(), islands_[i].archive.begin(), islands_[i].archive.end());
  }
  std::sort(others.begin(), others.end(), fastest);
  sorted.insert(sorted.end(), others.begin(), others.end());
  std::vector<Candidate> out;
  for (const auto& c : sorted) {
    if (static_cast<int>(out.size()) >= config_.inspirations) break;
    bool taken = c.id == parent.id;
    for (const auto& o : out) taken |= o.id == c.id;
    if (!taken) out.push_back(c);
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

Status EvolveDatabase::Migrate(RunStore& store, int64_t step) {
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

std::vector<FeatureAxis> EvolveFeatureAxes(const json& evolve) {
  auto c = ReadEvolveConfig(evolve.is_null() ? json::object() : evolve);
  return c.ok() ? c->features : EvolveConfig{}.features;
}

int FeatureBin(double value, const FeatureAxis& axis) {
  const double x = (value - axis.min) / (axis.max - axis.min);
  return std::clamp(static_cast<int>(x * axis.bins), 0, axis.bins - 1);
}

}  // namespace kf::search
