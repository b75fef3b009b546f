// The suite form of `kforge optimize` (DIR|LIST ...): telling a suite from one task, listing
// its problems, and the flags each problem's run gets. Used by optimize_cmd.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/parsed_args.h"

namespace kf::cli {

// True when the TASK words name a suite: more than one, a directory that is not a task (no
// task.yaml), or a file that is not a PyTorch problem (a LIST).
bool IsSuiteInput(const std::vector<std::string>& tasks);

// Lists the problems, picks the suite's directory (--out, default runs/suite-NAME) and the
// flags each run gets (every flag given but the suite's own: --out, --jobs, --devices, --start);
// fills a->suite. A stop: no problems, a LIST line naming nothing, a --start that is not a
// directory.
std::optional<ParseStop> FinishSuiteOptions(const CLI::App& app, OptimizeArgs* a);

}  // namespace kf::cli
