// Private to src/store/: reading whole candidate rows, shared by the writer (run_store.cc) and
// the read-only queries (run_reader.cc).
#pragma once

#include "store/db.h"
#include "store/run_store.h"

namespace kf::store {

// "SELECT <every column of a Candidate> FROM candidates "; append the WHERE clause.
extern const char* const kSelectCandidate;
// The current row of a kSelectCandidate query.
Candidate ReadCandidate(Stmt& q);
// Every row of the final comparison, in order (run_store_timings.cc).
Result<std::vector<FinalRow>> ReadFinalRows(Db& db);

}  // namespace kf::store
