// The end of a run: RUN_DIR/best.EXT, RUN_DIR/report.json and report.md (best speedup against
// each baseline, the winner's lineage, verdict counts, tokens and cost, time per stage), and a
// one-screen summary on stdout.
#pragma once

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace kf::search {

struct RunContext;

Result<nlohmann::json> WriteReport(RunContext& ctx);

}  // namespace kf::search
