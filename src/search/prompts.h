// The prompts a strategy sends: templates (prompts/system.md, task.md, retry.md, overridable by
// a directory of the user's) filled with what a kernel engineer would want: the task and its
// reference, the interface, the machine's measured limits, the parent program with its metrics
// and evaluation feedback, and what was already tried.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "llm/types.h"
#include "search/candidate.h"
#include "task/task.h"
#include "util/status.h"

namespace kf::search {

struct Prompts {
  std::string system, task, retry, evolve, first;
};

// The built-in templates: $KFORGE_PROMPTS, else prompts/ beside the build, else the source's.
std::filesystem::path BuiltinPromptsDir();
// Templates from `dir` (empty: built-in); a file missing from `dir` falls back to the built-in.
Result<Prompts> LoadPrompts(const std::filesystem::path& dir);

// Replaces each {{name}} with vars[name]; an unknown name is left as it is.
std::string Fill(const std::string& tmpl, const std::map<std::string, std::string>& vars);

// The entry point's C signature and the calling convention, for the task's backend; for `lang`
// "python" the ModelNew class, for "cuda-kernel" kernels with launch declarations.
std::string TaskAbi(const task::Task& task, const std::string& lang = "");
// The machine as the evaluator saw it (from the initial program's result): the CPU (model, vector
// extensions, caches, cores) or the GPU (SMs, shared memory and registers per SM, L2, measured
// copy and GEMM rates), and the task's roofline (bytes, FLOPs, the floor time).
std::string MachineText(const Candidate& initial);
// How outputs are compared, per output: atol, rtol and the relative-norm bound.
std::string ToleranceText(const task::Task& task);
// The input distributions correctness trials draw from.
std::string DistributionsText(const task::Task& task);
// Every size the program is checked at, one per line, the timed sizes last.
std::string CheckSizesText(const task::Task& task);
// The instruction that ends a prompt: a whole program in one fenced block, or (evolve) edits.
std::string WholeProgramAnswer(const std::string& lang);
std::string EditsAnswer();
// A verdict with the numbers that matter: "ok: 0.412 ms, 3.20x faster than the initial program".
// What a result's speedup is against: "the initial program", or "PyTorch eager".
std::string BaselineLabel(const nlohmann::json& result);

std::string SummaryText(const Candidate& c);
// What the model is told about a judged candidate: verdict, message, compiler log, mismatch,
// time, speedup, roofline fraction, resources.
std::string FeedbackText(const Candidate& c);

// The first messages of a conversation: system, then the task with `parent` to improve.
// `answer`: how to reply (empty: WholeProgramAnswer).
std::vector<llm::Message> TaskMessages(const Prompts& prompts, const task::Task& task,
                                       const std::string& lang, const Candidate& parent,
                                       const Candidate& initial, const std::string& history,
                                       const std::string& answer = "");
// The first messages asking for a PyTorch task's first program, from the module alone (no
// program exists yet); `history`: earlier attempts' verdicts.
std::vector<llm::Message> FirstProgramMessages(const Prompts& prompts, const task::Task& task,
                                               const std::string& lang, const std::string& history);

// The follow-up after a judged attempt.
std::string RetryMessage(const Prompts& prompts, const std::string& lang, const Candidate& c,
                         const std::string& instruction);

}  // namespace kf::search
