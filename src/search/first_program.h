// A PyTorch task given without a starting program: the model writes the first one from the
// module's source, in the language the run asks for (--language), and the eager module is the
// baseline from the start. Replies without code, in another language or with another signature
// are recorded, fed back and asked again within the run's budgets.
#pragma once

#include <string>

#include "util/status.h"

namespace kf::search {

struct RunContext;

// The run's language: `language` as given ("c", "cuda", "cuda-kernel", "modelnew"; empty: c on
// a CPU task, cuda on a GPU task) as {fence tag, file extension}; an error names the choices.
Result<std::pair<std::string, std::string>> RunLanguage(const std::string& language,
                                                        const std::string& backend);

// Asks for the first program until one is correct (it becomes ctx.initial and ctx.best) or a
// budget is spent (ctx.initial stays empty; ctx.stop_reason says why). A Status error: the run
// cannot go on (the judge or the store failed).
Status WriteFirstProgram(RunContext& ctx);

}  // namespace kf::search
