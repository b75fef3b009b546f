#include "search/optimize.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "eval/compiler.h"
#include "llm/call_log.h"
#include "llm/code.h"
#include "search/baseline_history.h"
#include "search/final_comparison.h"
#include "search/first_program.h"
#include "search/report.h"
#include "search/run_context.h"
#include "search/strategy.h"
#include "search/tune.h"
#include "task/torch_task.h"
#include "util/files.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::search {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kMaxConsecutiveModelFailures = 5;

json OptionsJson(const OptimizeOptions& o) {
  return {{"task_dir", fs::absolute(o.task_dir).string()},
          {"strategy", o.strategy},
          {"llm", o.llm_specs},
          {"config", o.config_file.empty() ? "" : fs::absolute(o.config_file).string()},
          {"budget_evals", o.budget_evals},
          {"budget_cost_usd", o.budget_cost_usd},
          {"budget_time_s", o.budget_time_s},
          {"seed", o.seed},
          {"attempts_per_round", o.attempts_per_round},
          {"samples_per_round", o.samples_per_round},
          {"start_program", o.start_program.empty() ? "" : fs::absolute(o.start_program).string()},
          {"prompts_dir", o.prompts_dir.empty() ? "" : fs::absolute(o.prompts_dir).string()},
          {"evolve", o.evolve},
          {"tune_after", o.tune_after},
          {"final_candidates", o.final_candidates},
          {"language", o.language}};
}

void RestoreOptions(const json& j, OptimizeOptions* o) {
  o->task_dir = j.value("task_dir", std::string());
  o->strategy = j.value("strategy", o->strategy);
  o->llm_specs = j.value("llm", std::vector<std::string>{});
  o->config_file = j.value("config", std::string());
  o->seed = j.value("seed", o->seed);
  o->attempts_per_round = j.value("attempts_per_round", o->attempts_per_round);
  o->samples_per_round = j.value("samples_per_round", o->samples_per_round);
  o->start_program = j.value("start_program", std::string());
  o->prompts_dir = j.value("prompts_dir", std::string());
  o->evolve = j.value("evolve", nlohmann::json::object());
  o->tune_after = j.value("tune_after", int64_t{0});
  o->final_candidates = j.value("final_candidates", o->final_candidates);
  o->language = j.value("language", std::string());
  // Budgets given again on the command line extend the run; otherwise the recorded ones hold.
  if (o->budget_evals < 0) o->budget_evals = j.value("budget_evals", int64_t{20});
  if (o->budget_cost_usd < 0) o->budget_cost_usd = j.value("budget_cost_usd", 0.0);
  if (o->budget_time_s < 0) o->budget_time_s = j.value("budget_time_s", 0.0);
}

// A YAML node as JSON: maps, lists, and scalars as numbers or booleans where they read as one.
json YamlToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    json j = json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = YamlToJson(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    json j = json::array();
    for (const auto& e : n) j.push_back(YamlToJson(e));
    return j;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string s = n.Scalar();
  if (s == "true" || s == "false") return s == "true";
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && end && *end == '\0') return d;
  return s;
}

std::string Speedup(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", x);
  return buf;
}

std::string Elapsed(double s) {
  char buf[32];
  const int t = static_cast<int>(s);
  std::snprintf(buf, sizeof(buf), "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

}  // namespace

bool RunContext::ShouldStop() {
  if (!stop_reason.empty()) return true;
  if (interrupted && interrupted->load()) {
    stop_reason = "interrupted";
  } else if (options.budget_evals > 0 && judged >= options.budget_evals) {
    stop_reason = "evaluation budget spent (" + std::to_string(options.budget_evals) + ")";
  } else if (options.budget_time_s > 0 &&
             MonotonicSeconds() - start_time >= options.budget_time_s) {
    stop_reason = "time budget spent";
  } else if (models && models->BudgetSpent()) {
    stop_reason = "LLM budget spent";
  }
  return !stop_reason.empty();
}

Result<Candidate> RunContext::Judge(const std::string& code, Candidate extra,
                                    const std::string& ext) {
  const std::string file_ext = ext.empty() ? extension : ext;
  const std::string hash = Sha256Hex(code + "\n// kforge: compiled as " + file_ext);
  ++judged;
  auto seen = store->FindByHash(hash);
  if (!seen.ok()) return seen.status();
  if (*seen) {
    // Judged before in this run: replayed after a resume, or proposed again.
    Consider(**seen);
    Progress(**seen);
    return **seen;
  }
  const fs::path dir = options.run_dir / "candidates";
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path file = dir / (hash.substr(0, 16) + file_ext);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << code;
  }
  double seconds = 0;
  auto r = EvaluateWithHistory(*this, file, &seconds);
  eval_seconds += seconds;
  if (!r.ok()) return r.status();
  ++new_evals;
  Candidate c = std::move(extra);
  c.code = code;
  c.code_hash = hash;
  c.verdict = std::string(eval::VerdictName(r->verdict));
  c.result = r->ToJson();
  if (r->verdict == eval::Verdict::kOk && r->speedup) c.speedup = *r->speedup;
  if (r->time) c.time_ms = r->time->median_ms;
  c.eval_seconds = r->eval_seconds;
  c.feedback = FeedbackText(c);
  auto id = store->Add(c);
  if (!id.ok()) return id.status();
  c.id = *id;
  if (Status st = RecordBaselineTimings(*this, c.id, *r); !st.ok()) return st;
  Status st = store->SetMeta("time_used_s", std::to_string(MonotonicSeconds() - start_time));
  if (!st.ok()) return st;
  Consider(c);
  Progress(c);
  return c;
}

Result<Candidate> RunContext::RecordFailure(const std::string& verdict, const std::string& feedback,
                                            Candidate extra, const std::string& reply_text) {
  ++judged;
  Candidate c = std::move(extra);
  c.verdict = verdict;
  c.feedback = feedback;
  c.code_hash =
      "no-program:" + Sha256Hex(verdict + "\n" + std::to_string(c.parent_id) + "\n" + reply_text);
  auto seen = store->FindByHash(c.code_hash);
  if (!seen.ok()) return seen.status();
  if (*seen) {
    Progress(**seen);
    return **seen;
  }
  auto id = store->Add(c);
  if (!id.ok()) return id.status();
  c.id = *id;
  Progress(c);
  return c;
}

Candidate RunContext::Best() { return best ? *best : *initial; }

void RunContext::Consider(const Candidate& c) {
  // Candidates of one task are ranked by their own measured time (same device, same sizes), not
  // by ratios to baselines timed at other moments.
  const auto& ci = c.result.value("speedup_ci", nlohmann::json());
  const bool has_ci = ci.is_array() && ci.size() == 2 && ci[0].is_number();
  if (c.verdict != "ok" ||
      !eval::ShownFaster(c.speedup, has_ci ? std::optional(ci[0].get<double>()) : std::nullopt)) {
    return;
  }
  if (!best || c.time_ms < best->time_ms) best = c;
}

llm::Request RunContext::MakeRequest(const std::vector<llm::Message>& messages,
                                     int64_t sample) const {
  llm::Request req;
  req.messages = messages;
  req.max_tokens = models->config().max_tokens;
  req.temperature = models->config().temperature;
  req.reasoning_effort = models->config().reasoning_effort;
  req.sample = static_cast<int>(sample);
  return req;
}

std::optional<llm::Completion> RunContext::Ask(const std::vector<llm::Message>& messages,
                                               int64_t sample, int member) {
  const double t0 = MonotonicSeconds();
  llm::Completion c = models->Complete(MakeRequest(messages, sample), {}, member);
  llm_seconds += MonotonicSeconds() - t0;
  return HandleReply(std::move(c));
}

std::optional<llm::Completion> RunContext::HandleReply(llm::Completion c) {
  if (c.ok()) {
    consecutive_model_failures = 0;
    return c;
  }
  const auto kind = c.error->kind;
  if (options.progress_tty) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "kforge optimize: model %s: %s: %s\n", c.reply.provider.c_str(),
               std::string(llm::KindName(kind)).c_str(), c.error->message.c_str());
  if (kind == llm::Error::Kind::kBudget) {
    stop_reason = "LLM budget spent";
  } else if (kind == llm::Error::Kind::kAuth || kind == llm::Error::Kind::kConfig ||
             kind == llm::Error::Kind::kDns || kind == llm::Error::Kind::kCancelled) {
    stop_reason =
        "the model cannot be used: " + std::string(llm::KindName(kind)) + ": " + c.error->message;
  } else if (++consecutive_model_failures >= kMaxConsecutiveModelFailures) {
    stop_reason = "the models failed " + std::to_string(consecutive_model_failures) +
                  " times in a row; last: " + c.error->message;
  }
  if (kind == llm::Error::Kind::kContextLength || kind == llm::Error::Kind::kEmpty) return c;
  return std::nullopt;
}

Result<Candidate> RunContext::JudgeReply(const llm::Completion& reply, Candidate extra) {
  extra.llm_call = reply.reply.log_id;
  if (!reply.ok())
    return RecordFailure(std::string(llm::KindName(reply.error->kind)), reply.error->message, extra,
                         reply.error->message);
  const bool cuda = task.backend == backends::BackendKind::kCuda;
  const bool python = extension == ".py";
  const std::vector<std::string> accepted =
      python ? std::vector<std::string>{"python", "py"}
             : backends::GetBackend(task.backend).AcceptedFenceTags();
  auto block = llm::ExtractCodeBlock(reply.reply.text, accepted);
  if (auto* e = std::get_if<llm::Error>(&block)) {
    std::string why = e->message;
    if (reply.reply.finish_reason == "length" || reply.reply.finish_reason == "max_tokens") {
      why += "; the reply stopped at the token limit";
    }
    return RecordFailure("no_code",
                         why + ". Reply with the complete program in one ```" + lang + " block.",
                         extra, reply.reply.text);
  }
  const auto& b = std::get<llm::CodeBlock>(block);
  if (!b.lang.empty() && std::find(accepted.begin(), accepted.end(), b.lang) == accepted.end()) {
    return RecordFailure("wrong_language",
                         "the reply's code is tagged ```" + b.lang + "; this run needs " +
                             (python ? "a Python ModelNew (```python)"
                              : cuda ? "CUDA C++ (```cuda)"
                                     : "C or C++ (```" + lang + ")") +
                             " with the interface given.",
                         extra, reply.reply.text);
  }
  std::string ext;
  if (python) ext = ".py";
  if (!cuda && !python && (b.lang == "cpp" || b.lang == "c++" || b.lang == "cc")) ext = ".cc";
  if (!cuda && !python && (b.lang == "c" || b.lang == "C")) ext = ".c";
  return Judge(b.code, extra, ext);
}

void RunContext::Progress(const Candidate& c) {
  const Candidate best = initial ? Best() : c;
  std::string counts;
  if (auto by = store->Counts(); by.ok()) {
    for (const auto& [v, n] : by->by_verdict) {
      counts += (counts.empty() ? "" : " ") + v + " " + std::to_string(n);
    }
  } else {
    counts = "(counts unreadable: " + by.status().message() + ")";
  }
  char line[512];
  const auto spend = models ? models->spent() : llm::Ensemble::Spend{};
  std::snprintf(line, sizeof(line),
                "[%lld/%lld] #%lld %s r%d %s | best %.2fx (#%lld) | %s | $%.4f %lld tok | %s",
                static_cast<long long>(judged), static_cast<long long>(options.budget_evals),
                static_cast<long long>(c.id), c.origin.c_str(), c.round,
                c.verdict == "ok" ? Speedup(c.speedup).c_str() : c.verdict.c_str(), best.speedup,
                static_cast<long long>(best.id), counts.c_str(), spend.usd,
                static_cast<long long>(spend.tokens),
                Elapsed(MonotonicSeconds() - start_time).c_str());
  if (options.progress_tty) {
    std::fprintf(stderr, "\r\033[K%s", line);
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

Status ApplyOptimizeConfig(const fs::path& config_file, OptimizeOptions* o) {
  if (config_file.empty()) return Status::Ok();
  YAML::Node root;
  try {
    root = YAML::LoadFile(config_file.string());
  } catch (const YAML::Exception& e) {
    return Status::Error(config_file.string() + ": " + e.what());
  }
  if (!root.IsMap() && !root.IsNull()) {
    return Status::Error(config_file.string() + ": expected a mapping with llm: and optimize:");
  }
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (k != "llm" && k != "optimize") {
      return Status::Error(config_file.string() + ": " + k + ": unknown section (llm, optimize)");
    }
  }
  const YAML::Node opt = root["optimize"];
  if (!opt) return Status::Ok();
  if (!opt.IsMap()) return Status::Error(config_file.string() + ": optimize: expected a mapping");
  const std::string where = config_file.string() + ": optimize.";
  try {
    for (const auto& kv : opt) {
      const std::string k = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (k == "strategy") {
        o->strategy = v.as<std::string>();
      } else if (k == "budget_evals") {
        o->budget_evals = v.as<int64_t>();
      } else if (k == "budget_cost_usd") {
        o->budget_cost_usd = v.as<double>();
      } else if (k == "budget_time_s") {
        o->budget_time_s = v.as<double>();
      } else if (k == "seed") {
        o->seed = v.as<uint64_t>();
      } else if (k == "attempts_per_round") {
        o->attempts_per_round = v.as<int>();
      } else if (k == "samples_per_round") {
        o->samples_per_round = v.as<int>();
      } else if (k == "prompts") {
        o->prompts_dir = fs::absolute(config_file).parent_path() / v.as<std::string>();
      } else if (k == "tune_after") {
        o->tune_after = v.as<int64_t>();
      } else if (k == "evolve") {
        o->evolve = YamlToJson(v);
      } else {
        return Status::Error(where + k +
                             ": unknown key (strategy, budget_evals, budget_cost_usd, "
                             "budget_time_s, seed, attempts_per_round, samples_per_round, "
                             "prompts, evolve, tune_after)");
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::Error(where + ": " + e.what());
  }
  return Status::Ok();
}

namespace {

// Settles the run's options and records them: those recorded for a resumed run (with the
// budgets given again), the defaults for a new one (in a store that holds no run yet).
Status SettleOptions(RunStore* store, OptimizeOptions* options) {
  if (options->resume) {
    auto saved = store->GetMeta("options");
    if (!saved.ok()) return saved.status();
    if (!*saved) {
      return Status::Error(options->run_dir.string() +
                           " holds no run to resume (no options recorded)");
    }
    json j = json::parse(**saved, nullptr, false);
    if (j.is_discarded())
      return Status::Error(options->run_dir.string() + ": unreadable run options");
    RestoreOptions(j, options);
  } else {
    auto size = store->Size();
    if (!size.ok()) return size.status();
    if (*size > 0) {
      return Status::Error(options->run_dir.string() +
                           " already holds a run: resume it with --resume " +
                           options->run_dir.string() + ", or choose another --out");
    }
    if (options->budget_evals < 0) options->budget_evals = 20;
    if (options->budget_cost_usd < 0) options->budget_cost_usd = 0;
    if (options->budget_time_s < 0) options->budget_time_s = 0;
  }
  if (FindStrategy(options->strategy) == nullptr) {
    return Status::Error("unknown strategy '" + options->strategy + "' (" + StrategyNames() + ")");
  }
  return store->SetMeta("options", OptionsJson(*options).dump());
}

// The run's models: the configured ensemble, answering a resumed run's replay from its call log
// and counting what earlier sessions of the run spent.
[[nodiscard]] Status OpenModels(const OptimizeOptions& options, RunContext* ctx) {
  auto cfg = llm::LoadEnsembleConfig(options.config_file, options.llm_specs);
  if (!cfg.ok()) return cfg.status();
  if (cfg->members.empty()) {
    return Status::Error(
        "no model configured for strategy '" + options.strategy +
        "': pass --llm SPEC (openai:MODEL, anthropic:MODEL, "
        "openai-compatible:BASE_URL#MODEL, command:PROGRAM, exchange:DIR) or list llm.models "
        "in --config (docs/llm.md). --strategy tune needs no model: it searches the "
        "parameters a program declares with // kforge-tune: (docs/optimize.md).");
  }
  if (options.budget_cost_usd > 0) cfg->budget_usd = options.budget_cost_usd;
  cfg->seed = options.seed;
  cfg->cache = true;  // replies recorded in this run answer its replay on resume
  auto log = llm::CallLog::Open(ctx->store->db_path());
  if (!log.ok()) return log.status();
  std::shared_ptr<llm::CallLog> shared(std::move(*log));
  // What earlier sessions of this run spent counts against its budget.
  const auto before = shared->Sum();
  if (!before.ok()) return before.status();
  auto ensemble = llm::Ensemble::Create(*cfg, shared);
  if (!ensemble.ok()) return ensemble.status();
  ctx->models = std::move(*ensemble);
  ctx->models->AddSpent(before->cost_usd, before->prompt_tokens + before->completion_tokens);
  return Status::Ok();
}

}  // namespace

namespace {

// The strategy from the judged starting program, then tuning, the final comparison and the
// report.
Result<json> FinishRun(RunContext& ctx, const Strategy& strategy) {
  Status st = strategy.run(ctx);
  if (st.ok() && ctx.options.tune_after > 0 && strategy.run != RunTune &&
      (ctx.stop_reason.empty() || ctx.stop_reason.rfind("evaluation budget", 0) == 0)) {
    const Candidate best = ctx.Best();
    auto params = ParseTuneParams(best.code);
    if (params.ok() && !params->empty()) {
      ctx.stop_reason.clear();
      ctx.options.budget_evals = ctx.judged + ctx.options.tune_after;
      std::fprintf(stderr, "%skforge optimize: tuning the best program (#%lld)\n",
                   ctx.options.progress_tty ? "\n" : "", static_cast<long long>(best.id));
      st = TuneFrom(ctx, best);
    }
  }
  if (ctx.options.progress_tty) std::fprintf(stderr, "\n");
  if (!st.ok()) return st;
  if (ctx.stop_reason.empty()) ctx.stop_reason = "the strategy finished";
  if (ctx.stop_reason != "interrupted") {
    auto final_comparison = RunFinalComparison(ctx);
    if (!final_comparison.ok()) return final_comparison.status();
    ctx.final_comparison = *final_comparison;
  }
  Status saved =
      ctx.store->SetMeta("time_used_s", std::to_string(MonotonicSeconds() - ctx.start_time));
  if (!saved.ok()) return saved;
  return WriteReport(ctx);
}

}  // namespace

Result<json> RunOptimize(OptimizeOptions options) {
  return RunOptimize(std::move(options), [](const task::Task& task, const eval::EvalOptions& o) {
    return std::make_unique<EvaluatorJudge>(task, o);
  });
}

Result<json> RunOptimize(OptimizeOptions options, const JudgeFactory& make_judge) {
  auto store = RunStore::Open(options.run_dir);
  if (!store.ok()) return store.status();
  if (Status st = SettleOptions(store->get(), &options); !st.ok()) return st;
  const Strategy& strategy = *FindStrategy(options.strategy);

  RunContext ctx;
  ctx.options = options;
  ctx.store = std::move(*store);
  auto task = task::LoadTask(options.task_dir);
  if (!task.ok()) return task.status();
  ctx.task = *task;
  const backends::Backend& backend = backends::GetBackend(ctx.task.backend);
  const bool cuda = ctx.task.backend == backends::BackendKind::kCuda;
  // A PyTorch task has no initial program: the starting program's language is the run's, or
  // the one asked for (the model writes the first program).
  const bool first_from_model = ctx.task.torch && options.start_program.empty();
  const std::string initial_ext =
      (ctx.task.torch ? options.start_program : ctx.task.initial).extension().string();
  ctx.extension = initial_ext == ".py" ? ".py" : backend.ProgramExtension(initial_ext);
  ctx.lang = ctx.extension == ".py" ? "python" : backend.FenceTag(ctx.extension);
  ctx.language = ctx.lang;
  if (first_from_model || !options.language.empty()) {
    auto language = RunLanguage(options.language, cuda ? "cuda" : "cpu");
    if (!language.ok()) return language.status();
    ctx.lang = language->first == "cuda-kernel" ? "cuda" : language->first;
    ctx.language = language->first;
    ctx.extension = language->second;
  }
  auto prompts = LoadPrompts(options.prompts_dir);
  if (!prompts.ok()) return prompts.status();
  ctx.prompts = *prompts;

  if (strategy.uses_models) {
    if (Status st = OpenModels(options, &ctx); !st.ok()) return st;
  }

  ctx.judge = make_judge(ctx.task, options.eval);
  if (!ctx.judge) return Status::Error("no judge for task " + ctx.task.name);
  if (!options.eval_lock.empty()) {
    ctx.judge = std::make_unique<LockedJudge>(std::move(ctx.judge), options.eval_lock);
  }
  ctx.interrupted = options.interrupt;
  ctx.start_time = MonotonicSeconds();
  auto used = ctx.store->GetMeta("time_used_s");
  if (!used.ok()) return used.status();
  if (*used) ctx.start_time -= std::stod(**used);

  // A PyTorch task without a starting program: the model writes the first one.
  if (first_from_model && !strategy.uses_models) {
    return Status::Error("--strategy tune on a PyTorch task needs --start FILE, a program with " +
                         task::NativeSignature(ctx.task) + " declaring // kforge-tune: values");
  }
  if (first_from_model) {
    if (Status st = WriteFirstProgram(ctx); !st.ok()) return st;
    if (!ctx.initial) {
      if (options.progress_tty) std::fprintf(stderr, "\n");
      return WriteNoProgramReport(ctx);
    }
  }
  if (first_from_model) return FinishRun(ctx, strategy);

  const fs::path start = options.start_program.empty() ? ctx.task.initial : options.start_program;
  const std::string start_code = ReadFile(start);
  if (start_code.empty()) return Status::Error(start.string() + ": missing or empty");
  Candidate first;
  first.origin = "initial";
  first.strategy = options.strategy;
  auto judged = ctx.Judge(start_code, first);
  if (!judged.ok()) return judged.status();
  if (judged->verdict != "ok") {
    return Status::Error("the starting program " + start.string() +
                         " is not correct: " + judged->verdict + ": " + FeedbackText(*judged));
  }
  ctx.initial = *judged;
  ctx.best = *judged;

  return FinishRun(ctx, strategy);
}

}  // namespace kf::search
