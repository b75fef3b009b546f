// The feature axes of evolve's MAP-Elites grid (docs/optimize.md): a program's cell on each
// axis is clamp(floor((metric - min) / (max - min) * bins), 0, bins - 1). Shared by the search
// and by the views of a run (kforge serve, kforge report), so both place programs alike.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kf::search {

struct FeatureAxis {
  std::string metric;  // "code_size", "speedup", or a dotted path into the result JSON
  double min = 0, max = 1;
  int bins = 6;
};

// The axes of an `optimize.evolve` config section; the defaults where it sets none or is invalid.
std::vector<FeatureAxis> EvolveFeatureAxes(const nlohmann::json& evolve);

// The bin of `value` on `axis`: clamp(floor((value - min) / (max - min) * bins), 0, bins - 1).
int FeatureBin(double value, const FeatureAxis& axis);

}  // namespace kf::search
