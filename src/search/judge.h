// The seam between the search and the evaluation: the strategies and the optimize driver ask a
// Judge for a program's verdict and never see how it is reached. The real one is the evaluator
// (EvaluatorJudge: static checks, compile, workers, timing, by EVAL_PROTOCOL.md); a test gives
// the search a fake that returns scripted verdicts and times, so a strategy's promises can be
// checked without a compiler or a worker.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "eval/evaluator.h"
#include "eval/verdict.h"
#include "task/task.h"
#include "util/status.h"

namespace kf::search {

class Judge {
 public:
  virtual ~Judge() = default;
  // The verdict on the program in the file `candidate` (its extension says its language). As
  // for eval::Evaluator::Evaluate: every failure of the candidate itself is a verdict in the
  // EvalResult; a Result error means the candidate could not be judged at all, which stops the
  // run.
  virtual Result<eval::EvalResult> Evaluate(const std::filesystem::path& candidate) = 0;
  // The final comparison (eval::Evaluator::Compare): `candidates`, already judged correct, and
  // the task's baselines timed together in alternating rounds on fresh inputs. A judge that
  // cannot compare says so; the run then reports its evaluations' figures.
  virtual Result<eval::Comparison> Compare(const std::vector<std::filesystem::path>& candidates) {
    (void)candidates;
    return Status::Error("this judge makes no final comparison");
  }
};

// The real judge: one eval::Evaluator for the run's task.
class EvaluatorJudge final : public Judge {
 public:
  EvaluatorJudge(task::Task task, eval::EvalOptions options);
  Result<eval::EvalResult> Evaluate(const std::filesystem::path& candidate) override;
  Result<eval::Comparison> Compare(const std::vector<std::filesystem::path>& candidates) override;

 private:
  eval::Evaluator evaluator_;
};

// A judge that holds an exclusive lock on a file (flock) while `inner` judges, so that runs
// sharing the file (a suite's runs on one device) never judge two candidates at once: a timing
// is never taken under another evaluation's load, while the runs' model calls go on.
class LockedJudge final : public Judge {
 public:
  LockedJudge(std::unique_ptr<Judge> inner, std::filesystem::path lock_file);
  ~LockedJudge() override;
  Result<eval::EvalResult> Evaluate(const std::filesystem::path& candidate) override;
  Result<eval::Comparison> Compare(const std::vector<std::filesystem::path>& candidates) override;

 private:
  Status Lock();
  std::unique_ptr<Judge> inner_;
  std::filesystem::path lock_file_;
  int fd_ = -1;
};

// Makes the judge of a run once its task is loaded; RunOptimize's default makes an
// EvaluatorJudge.
using JudgeFactory =
    std::function<std::unique_ptr<Judge>(const task::Task& task, const eval::EvalOptions& options)>;

}  // namespace kf::search
