#include "search/judge.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace kf::search {

EvaluatorJudge::EvaluatorJudge(task::Task task, eval::EvalOptions options)
    : evaluator_(std::move(task), std::move(options)) {}

Result<eval::EvalResult> EvaluatorJudge::Evaluate(const std::filesystem::path& candidate) {
  return evaluator_.Evaluate(candidate);
}

LockedJudge::LockedJudge(std::unique_ptr<Judge> inner, std::filesystem::path lock_file)
    : inner_(std::move(inner)), lock_file_(std::move(lock_file)) {
  fd_ = open(lock_file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

LockedJudge::~LockedJudge() {
  if (fd_ >= 0) close(fd_);
}

Status LockedJudge::Lock() {
  if (fd_ < 0) {
    return Status::Error("cannot open the evaluation lock " + lock_file_.string() + ": " +
                         std::strerror(errno));
  }
  while (flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return Status::Error("cannot lock " + lock_file_.string() + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

Result<eval::EvalResult> LockedJudge::Evaluate(const std::filesystem::path& candidate) {
  if (Status st = Lock(); !st.ok()) return st;
  auto r = inner_->Evaluate(candidate);
  flock(fd_, LOCK_UN);
  return r;
}

Result<eval::Comparison> LockedJudge::Compare(
    const std::vector<std::filesystem::path>& candidates) {
  if (Status st = Lock(); !st.ok()) return st;
  auto r = inner_->Compare(candidates);
  flock(fd_, LOCK_UN);
  return r;
}

Result<eval::Comparison> EvaluatorJudge::Compare(const std::vector<std::filesystem::path>& c) {
  return evaluator_.Compare(c);
}

}  // namespace kf::search
