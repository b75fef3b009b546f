// The evaluator: judges candidates for one task by EVAL_PROTOCOL.md. Static checks, a cached
// compile, then in worker processes: correctness on seeded inputs from several distributions
// and sizes with poisoned outputs and a double-precision reference computed afterwards from a
// copy, a determinism re-run, timing with cache-cold rotation until the median is stable, the
// baseline (the task's initial program) timed the same way in the same worker, a re-check on
// fresh inputs after timing, and the roofline floor. Workers are reused across candidates and
// replaced when a candidate kills, hangs or abuses one. Not thread-safe: one caller at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eval/verdict.h"
#include "task/task.h"
#include "util/status.h"

namespace kf::eval {

struct EvalOptions {
  std::optional<uint64_t> seed;  // unset: a fresh secret seed per evaluation
  double run_timeout_s = 10;     // per call of a candidate (and per load)
  double compile_timeout_s = 60;
  double timing_seconds = 1.0;  // cap on timed runs per program
  double target_rel_ci = 0.01;  // stop timing when the median's 95% interval is within this
  int min_runs = 10;
  // A time below margin * roofline floor is suspicious: beyond the machine's measured peak.
  double floor_margin = 1.0;
  bool sandbox = true;  // bubblewrap where it works
  int device = 0;       // CUDA: the GPU ordinal the worker uses (machine.h)
  bool ncu = false;     // CUDA: a short Nsight Compute summary of a correct candidate
  bool seccomp = true;  // the worker's system-call filter
  // Start the next candidate's fresh worker while the caller prepares the next candidate; off
  // when no more candidates will come (one `kforge eval`), so no start is wasted.
  bool prestart = true;
  unsigned long long worker_memory_bytes = 4ull << 30;  // address-space limit per worker
  std::filesystem::path worker_binary;                  // empty: next to the running kforge binary
  std::filesystem::path cache_dir;                      // empty: DefaultCacheDir()
};

// One program of a comparison (Evaluator::Compare): its timing, or why it has none.
struct ComparedProgram {
  std::string name;  // a candidate's file, or a baseline's name
  bool baseline = false;
  std::optional<TimeStats> time;  // unset when it failed
  std::string failure;            // "verdict: message" when it failed
};

// Programs timed together: every round times each of them once, in turn, on the same fresh
// inputs; the candidates first in the order given, then the baselines (the task's initial
// program or PyTorch eager first, then the vendor baselines).
struct Comparison {
  uint64_t seed = 0;
  int rounds = 0;
  std::vector<ComparedProgram> programs;
};

class Evaluator {
 public:
  Evaluator(task::Task task, EvalOptions options);
  ~Evaluator();

  // A Result error means kforge could not judge the candidate at all (the task's reference or
  // initial program fails, no worker can start, the candidate file is unreadable); every
  // failure of the candidate itself is a verdict in the EvalResult.
  Result<EvalResult> Evaluate(const std::filesystem::path& candidate);

  // Starts compiling `candidates` into the cache in the background, `jobs` at a time, so that a
  // batch is compiled on the host's cores while earlier candidates run on the device. Evaluate
  // then finds each one compiled (or waits for its compile). Candidates that fail the static
  // checks are left alone: Evaluate judges them without compiling.
  void Precompile(const std::vector<std::filesystem::path>& candidates, int jobs);

  // Times `candidates` (already judged correct by Evaluate) and the task's baselines together
  // in `rounds` alternating rounds on fresh inputs, each candidate in a fresh worker of its
  // own, every worker but the one being timed paused; after timing, each candidate's inputs are
  // checked unchanged and its timed outputs right. A candidate that fails is reported as
  // failed, not timed. Needs one Evaluate before it (the baselines are set up there). A Result
  // error: the comparison could not be made (a baseline failed, no worker).
  Result<Comparison> Compare(const std::vector<std::filesystem::path>& candidates, int rounds = 5);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kf::eval
