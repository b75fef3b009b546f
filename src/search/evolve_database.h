// evolve's program database (docs/optimize.md): islands, each with a MAP-Elites grid (one elite
// per cell of the feature axes: the fastest correct program there) and an archive of its correct
// programs; parents and inspirations drawn from them with a seeded generator; ring migration.
// The optimize.evolve config section that shapes it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "search/candidate.h"
#include "search/evolve_features.h"
#include "util/status.h"

namespace kf::search {

struct EvolveConfig {
  int islands = 3;
  int migration_interval = 10;
  double exploration = 0.2, exploitation = 0.7;
  int inspirations = 2;
  bool diff = true;
  std::vector<FeatureAxis> features = {{"code_size", 0, 8000, 6}, {"roofline.fraction", 0, 1, 6}};
};

// Reads an optimize.evolve section; an error names the key.
Result<EvolveConfig> ReadEvolveConfig(const nlohmann::json& j);

// A candidate's value on a feature axis: "code_size", "speedup", or a number from the
// evaluator's result by dotted path ("roofline.fraction", "detail.resources.0.registers"); 0 when
// absent.
double EvolveMetric(const Candidate& c, const std::string& path);

class EvolveDatabase {
 public:
  EvolveDatabase(EvolveConfig config, uint64_t seed);

  // The candidate's cell: its bin on each feature axis.
  std::vector<int> Cell(const Candidate& c) const;
  // Adds a correct candidate to the island's archive, and to its grid where it is the fastest
  // in its cell; anything else is ignored.
  void Add(int island, const Candidate& c);
  // Remembers a failed child for the island's next prompt (the last three).
  void Fail(int island, const std::string& what);
  // A parent on the island: exploration, any program of the archive; exploitation, a
  // tournament among the elites; else the island's best.
  Candidate Parent(int island);
  // The island's fastest programs other than the parent, and one elite from another cell.
  std::vector<Candidate> Inspirations(int island, const Candidate& parent);
  // Ring migration: each island's best goes to the next island (recorded in the store).
  [[nodiscard]] Status Migrate(RunStore& store, int64_t step);

  // The island's grid: cell -> elite.
  const std::map<std::vector<int>, Candidate>& elites(int island) const {
    return islands_[island].grid;
  }
  const std::vector<std::string>& failures(int island) const { return islands_[island].failures; }
  const EvolveConfig& config() const { return config_; }

 private:
  struct Island {
    std::vector<Candidate> archive;              // its correct programs
    std::map<std::vector<int>, Candidate> grid;  // cell -> elite
    std::vector<std::string> failures;           // recent failed edits, for the prompt
    std::optional<Candidate> best;
  };
  EvolveConfig config_;
  std::mt19937_64 rng_;
  std::vector<Island> islands_;
};

}  // namespace kf::search
