// The search's names for the run store's record of a judged program and the store itself
// (store/run_store.h): the strategies read and write candidates through RunContext.
#pragma once

#include "store/run_store.h"

namespace kf::search {

using Candidate = store::Candidate;
using RunStore = store::RunStore;

}  // namespace kf::search
