// The end of a run: RUN_DIR/best.EXT, RUN_DIR/report.json and report.md (best speedup against
// each baseline, the winner's lineage, verdict counts, tokens and cost, time per stage), and a
// one-screen summary on stdout.
#pragma once

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace kf::search {

struct RunContext;

Result<nlohmann::json> WriteReport(RunContext& ctx);

// The end of a run that never had a correct program (a PyTorch task whose first program the
// model did not get right within the budget): report.json and report.md with every attempt's
// verdict and why the run stopped, and the summary; no best program.
Result<nlohmann::json> WriteNoProgramReport(RunContext& ctx);

}  // namespace kf::search
