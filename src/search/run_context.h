// What the strategies share during a run: the task, the judge (search/judge.h: the evaluator, or
// a fake in tests), the models, the store, the budgets, and the one way to judge a program
// (RunContext::Judge), which records it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm/ensemble.h"
#include "search/candidate.h"
#include "search/judge.h"
#include "search/optimize.h"
#include "search/prompts.h"
#include "task/task.h"

namespace kf::search {

struct RunContext {
  OptimizeOptions options;
  task::Task task;
  // Qualified: the member function Judge below hides the class's name in here.
  std::unique_ptr<search::Judge> judge;
  std::unique_ptr<llm::Ensemble> models;  // null for tune
  std::unique_ptr<RunStore> store;
  Prompts prompts;
  std::string lang;       // the fence tag asked for: "c", "cpp", "cuda" or "python"
  std::string language;   // as the prompts name it: the fence tag, or "cuda-kernel"
  std::string extension;  // of candidate files: ".c", ".cc", ".cu"
  double start_time = 0;
  int64_t judged = 0;     // candidates judged or replayed in this process
  int64_t new_evals = 0;  // of those, judged now (not found in the store)
  double eval_seconds = 0, llm_seconds = 0;
  std::atomic<bool>* interrupted = nullptr;
  std::string stop_reason;
  std::optional<Candidate> initial;
  // The final comparison (search/final_comparison.h) once made: {} before or without one.
  nlohmann::json final_comparison = nlohmann::json::object();

  // True when a budget is spent or the user interrupted; sets stop_reason.
  bool ShouldStop();
  // Judges `code` (or finds it already judged in this run) and records it. `extra` fills the
  // record's origin, parent, round, params and llm_call. Never fails for a bad candidate: its
  // verdict says what went wrong. A Status error means kforge could not judge at all. The
  // program is written to RUN_DIR/candidates/ and judged from there by `judge`.
  // `extension` overrides the task's (a CPU reply tagged ```cpp is compiled as C++).
  Result<Candidate> Judge(const std::string& code, Candidate extra,
                          const std::string& extension = "");
  // Records a reply that gave no program (verdict "no_code", "wrong_language", ...). The same
  // reply failing the same way from the same parent is the same candidate (found on replay).
  // A Status error means the store could not record it.
  Result<Candidate> RecordFailure(const std::string& verdict, const std::string& feedback,
                                  Candidate extra, const std::string& reply_text);
  // The best ok candidate judged so far in this process (replayed ones included), the starting
  // program when none beats it. Not the store's best: a replay must make the choices the
  // original run made at that point.
  Candidate Best();
  std::optional<Candidate> best;
  void Consider(const Candidate& c);
  // Asks the models (HandleReply on the outcome). Empty optional: no reply to use.
  std::optional<llm::Completion> Ask(const std::vector<llm::Message>& messages, int64_t sample,
                                     int member = -1);
  llm::Request MakeRequest(const std::vector<llm::Message>& messages, int64_t sample) const;
  // Reports a failed request and decides whether the run can go on (stop_reason). Returns the
  // completion when it holds a reply, or an error the strategy acts on (context length, empty).
  std::optional<llm::Completion> HandleReply(llm::Completion c);
  // Turns a reply into a judged (or failed) candidate: code extracted, language checked.
  Result<Candidate> JudgeReply(const llm::Completion& reply, Candidate extra);
  int consecutive_model_failures = 0;
  // One progress line.
  void Progress(const Candidate& c);
};

// What the agent tells the model after judging `c`, relative to the program it revised and to
// the best so far (agent.cc).
std::string Instruction(const Candidate& c, const Candidate& parent, const Candidate& best);

// The strategies.
Status RunAgent(RunContext& ctx);
Status RunSwarm(RunContext& ctx);
Status RunEvolve(RunContext& ctx);
Status RunTune(RunContext& ctx);
// Tunes the parameters `start` declares, within the evaluation budget left.
Status TuneFrom(RunContext& ctx, const Candidate& start);

}  // namespace kf::search
