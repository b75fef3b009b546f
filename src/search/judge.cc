#include "search/judge.h"

#include <utility>

namespace kf::search {

EvaluatorJudge::EvaluatorJudge(task::Task task, eval::EvalOptions options)
    : evaluator_(std::move(task), std::move(options)) {}

Result<eval::EvalResult> EvaluatorJudge::Evaluate(const std::filesystem::path& candidate) {
  return evaluator_.Evaluate(candidate);
}

}  // namespace kf::search
