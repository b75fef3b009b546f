// The strategies of `kforge optimize` by name: what --strategy and optimize.strategy choose
// from. Each entry says whether the strategy asks language models and how to run it on a
// RunContext whose starting program is judged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kf::search {

struct RunContext;

struct Strategy {
  std::string_view name;
  bool uses_models = true;  // false: no --llm needed (tune)
  Status (*run)(RunContext& ctx) = nullptr;
};

// Every strategy, in the order messages list them: agent, swarm, evolve, tune.
const std::vector<Strategy>& Strategies();

// The strategy called `name`, or null.
const Strategy* FindStrategy(std::string_view name);

// The names, comma-separated: "agent, swarm, evolve, tune".
std::string StrategyNames();

}  // namespace kf::search
