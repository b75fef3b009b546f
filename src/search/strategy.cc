#include "search/strategy.h"

#include "search/run_context.h"

namespace kf::search {

const std::vector<Strategy>& Strategies() {
  static const std::vector<Strategy> kStrategies = {
      {"agent", true, RunAgent},
      {"swarm", true, RunSwarm},
      {"evolve", true, RunEvolve},
      {"tune", false, RunTune},
  };
  return kStrategies;
}

const Strategy* FindStrategy(std::string_view name) {
  for (const Strategy& s : Strategies()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string StrategyNames() {
  std::string names;
  for (const Strategy& s : Strategies()) {
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  }
  return names;
}

}  // namespace kf::search
