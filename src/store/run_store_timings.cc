// The run store's timing records: each baseline's history of timings and the final comparison
// (schema version 2).
#include "store/candidate_rows.h"
#include "store/db.h"
#include "store/run_store.h"

namespace kf::store {

Status RunStore::AddBaselineTiming(const BaselineTiming& t) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "INSERT INTO baseline_timings (candidate_id, name, median_ms, ci_lo_ms, ci_hi_ms, "
         "believed, note) VALUES (?, ?, ?, ?, ?, ?, ?)");
  Status st = q.Bind(1, t.candidate_id)
                  .Bind(2, t.name)
                  .Bind(3, t.median_ms)
                  .Bind(4, t.ci_lo_ms)
                  .Bind(5, t.ci_hi_ms)
                  .Bind(6, t.believed ? 1 : 0)
                  .Bind(7, t.note)
                  .Run();
  if (!st.ok()) return Status::Error("recording a baseline timing: " + st.message());
  return st;
}

Result<std::vector<BaselineTiming>> RunStore::BaselineTimings(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(*db_,
         "SELECT candidate_id, name, median_ms, ci_lo_ms, ci_hi_ms, believed, "
         "coalesce(note, '') FROM baseline_timings WHERE name = ? ORDER BY id");
  q.Bind(1, name);
  std::vector<BaselineTiming> out;
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(
        {q.Int(0), q.Text(1), q.Double(2), q.Double(3), q.Double(4), q.Int(5) != 0, q.Text(6)});
  }
}

Status RunStore::SetFinalComparison(const std::vector<FinalRow>& rows) {
  std::lock_guard<std::mutex> lock(mu_);
  auto tx = Transaction::Begin(*db_, Transaction::Kind::kWrite);
  if (!tx.ok()) return tx.status();
  if (Status st = db_->Exec("DELETE FROM final_comparison"); !st.ok()) return st;
  int64_t position = 0;
  for (const FinalRow& r : rows) {
    Stmt q(*db_,
           "INSERT INTO final_comparison (position, candidate_id, name, baseline, median_ms, "
           "ci_lo_ms, ci_hi_ms, p10_ms, p90_ms, runs, failure, speedup, speedup_lo, speedup_hi, "
           "significant, winner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    Status st = q.Bind(1, ++position)
                    .Bind(2, r.candidate_id)
                    .Bind(3, r.name)
                    .Bind(4, r.baseline ? 1 : 0)
                    .Bind(5, r.median_ms)
                    .Bind(6, r.ci_lo_ms)
                    .Bind(7, r.ci_hi_ms)
                    .Bind(8, r.p10_ms)
                    .Bind(9, r.p90_ms)
                    .Bind(10, r.runs)
                    .Bind(11, r.failure)
                    .Bind(12, r.speedup)
                    .Bind(13, r.speedup_lo)
                    .Bind(14, r.speedup_hi)
                    .Bind(15, r.significant ? 1 : 0)
                    .Bind(16, r.winner ? 1 : 0)
                    .Run();
    if (!st.ok()) return Status::Error("recording the final comparison: " + st.message());
  }
  return (*tx)->Commit();
}

Result<std::vector<FinalRow>> ReadFinalRows(Db& db) {
  Stmt q(db,
         "SELECT candidate_id, name, baseline, median_ms, ci_lo_ms, ci_hi_ms, p10_ms, p90_ms, "
         "runs, coalesce(failure, ''), speedup, speedup_lo, speedup_hi, significant, winner "
         "FROM final_comparison ORDER BY position");
  std::vector<FinalRow> out;
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    FinalRow r;
    r.candidate_id = q.Int(0);
    r.name = q.Text(1);
    r.baseline = q.Int(2) != 0;
    r.median_ms = q.Double(3);
    r.ci_lo_ms = q.Double(4);
    r.ci_hi_ms = q.Double(5);
    r.p10_ms = q.Double(6);
    r.p90_ms = q.Double(7);
    r.runs = q.Int(8);
    r.failure = q.Text(9);
    r.speedup = q.Double(10);
    r.speedup_lo = q.Double(11);
    r.speedup_hi = q.Double(12);
    r.significant = q.Int(13) != 0;
    r.winner = q.Int(14) != 0;
    out.push_back(std::move(r));
  }
}

Result<std::vector<FinalRow>> RunStore::FinalComparison() {
  std::lock_guard<std::mutex> lock(mu_);
  return ReadFinalRows(*db_);
}

}  // namespace kf::store
