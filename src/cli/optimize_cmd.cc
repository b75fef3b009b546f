// `kforge optimize TASK ...`: argument parsing, Ctrl-C, and the call into search::RunOptimize.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <variant>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "cli/suite_args.h"
#include "search/optimize.h"
#include "search/suite.h"
#include "search/suite_summary.h"

namespace kf::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) {
  if (g_interrupted.exchange(true)) _exit(130);  // a second Ctrl-C: stop now
  const char msg[] =
      "\nkforge optimize: stopping after the current step (Ctrl-C again to quit now)\n";
  (void)!write(2, msg, sizeof(msg) - 1);
}

// The settings a config file's optimize: section may also give, by their flags: a flag given on
// the command line beats the file, the file beats a default.
Status ApplyConfigUnderFlags(const CLI::App& app, const std::string& config,
                             search::OptimizeOptions* o) {
  o->config_file = config;
  const search::OptimizeOptions flags = *o;
  if (auto s = search::ApplyOptimizeConfig(config, o); !s.ok()) return s;
  const auto given = [&app](const char* flag) { return app.count(flag) > 0; };
  if (given("--strategy")) o->strategy = flags.strategy;
  if (given("--budget-evals")) o->budget_evals = flags.budget_evals;
  if (given("--budget-cost")) o->budget_cost_usd = flags.budget_cost_usd;
  if (given("--budget-time")) o->budget_time_s = flags.budget_time_s;
  if (given("--seed")) o->seed = flags.seed;
  if (given("--attempts")) o->attempts_per_round = flags.attempts_per_round;
  if (given("--samples")) o->samples_per_round = flags.samples_per_round;
  if (given("--tune-after")) o->tune_after = flags.tune_after;
  return Status::Ok();
}

// The options of a run, on `app`; `o` must outlive it.
void AddRunOptions(CLI::App* app, search::OptimizeOptions* o) {
  app->add_option("--strategy", o->strategy,
                  "agent (default), swarm, evolve, or tune (no model: searches the values a "
                  "program declares with // kforge-tune:)")
      ->type_name("S");
  app->add_option("--llm", o->llm_specs,
                  "a model (repeatable): openai:MODEL, anthropic:MODEL, "
                  "openai-compatible:BASE_URL#MODEL, command:PROGRAM ARGS, exchange:DIR")
      ->type_name("SPEC")
      ->take_all()
      ->allow_extra_args(false);
  app->add_option("--budget-evals", o->budget_evals,
                  "candidates to judge, the starting program included (default 20)")
      ->type_name("N")
      ->check(NonNegativeInteger());
  app->add_option("--budget-cost", o->budget_cost_usd, "stop asking models once this much is spent")
      ->type_name("USD")
      ->check(NonNegativeNumber());
  app->add_option("--budget-time", o->budget_time_s, "stop after this long: 90s, 30m, 2h")
      ->type_name("DUR")
      ->transform(Duration());
  app->add_option("--seed", o->seed,
                  "the run's seed: model picks, tune sampling (default " + std::to_string(o->seed) +
                      "; evaluations keep fresh secret seeds)")
      ->type_name("N")
      ->check(NonNegativeInteger());
  app->add_option("--out", o->run_dir,
                  "where the store, best program and report go (default runs/TASK-TIME)")
      ->type_name("RUN_DIR");
  app->add_option("--attempts", o->attempts_per_round,
                  "agent: attempts per round before restarting from the best (default " +
                      std::to_string(o->attempts_per_round) + ")")
      ->type_name("N")
      ->check(PositiveInteger());
  app->add_option("--samples", o->samples_per_round,
                  "swarm: requests per round (default: one per model)")
      ->type_name("N")
      ->check(IntegerAtMost(INT_MAX));
  app->add_option("--start", o->start_program,
                  "start from this program instead of the task's initial one")
      ->type_name("FILE");
  app->add_option("--tune-after", o->tune_after,
                  "then tune the best program's // kforge-tune: parameters, N more evals")
      ->type_name("N")
      ->check(NonNegativeInteger());
  app->add_option("--language", o->language,
                  "the programs' language: c, cpp, cuda, cuda-kernel or modelnew (default: the "
                  "starting program's; a PyTorch task without --start: c on a CPU, cuda on a GPU, "
                  "and the model writes the first program)")
      ->type_name("L");
  app->add_option("--final-compare", o->final_candidates,
                  "at the end, time the N fastest candidates and the baselines again together "
                  "(default " +
                      std::to_string(o->final_candidates) + "; 0: none)")
      ->type_name("N")
      ->check(IntegerAtMost(INT_MAX));
}

// Checks the task or the run to resume, applies the config and picks the run directory.
std::optional<ParseStop> FinishRunOptions(const CLI::App& app, const std::string& task_arg,
                                          const std::string& resume_dir, const std::string& config,
                                          search::OptimizeOptions* o) {
  if (!resume_dir.empty()) {
    if (!task_arg.empty()) {
      return UsageError(app, "--resume takes the run's own task; drop '" + task_arg + "'");
    }
    o->resume = true;
    o->run_dir = resume_dir;
    if (!std::filesystem::exists(std::filesystem::path(resume_dir) / "run.sqlite")) {
      return UsageError(app, resume_dir + " is not a run directory (no run.sqlite)");
    }
    return std::nullopt;
  }
  if (task_arg.empty()) return UsageError(app, "expected a TASK (a directory or a built-in name)");
  auto dir = ResolveTask(task_arg);
  if (!dir.ok()) return UsageError(app, dir.status().message());
  o->task_dir = *dir;
  if (!config.empty()) {
    if (auto s = ApplyConfigUnderFlags(app, config, o); !s.ok()) {
      return UsageError(app, s.message());
    }
  }
  if (o->run_dir.empty()) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    o->run_dir = std::filesystem::path("runs") / (o->task_dir.filename().string() + "-" + stamp);
  }
  return std::nullopt;
}

}  // namespace

namespace {

// The app of `kforge optimize`, writing into `a`, which must outlive it.
std::unique_ptr<CLI::App> OptimizeApp(OptimizeArgs* a, std::string* resume_dir,
                                      std::string* config) {
  search::OptimizeOptions& o = a->run;
  o.budget_evals = -1;  // -1: not given (the default, or the resumed run's own)
  o.budget_cost_usd = -1;
  o.budget_time_s = -1;
  auto app = NewCommandApp(
      "optimize",
      "Search for a faster program: models propose, kforge judges, records every candidate in "
      "RUN_DIR/run.sqlite, and writes RUN_DIR/best.* and report.md (docs/optimize.md). Several "
      "problems (a directory of tasks or problem files, a LIST file naming them) make a suite: "
      "one run per problem under SUITE_DIR and one suite report.\n"
      "  kforge optimize TASK [options]\n"
      "  kforge optimize DIR|LIST ... [--jobs N] [--devices LIST] [options]\n"
      "  kforge optimize --resume RUN_DIR [--budget-evals N] [--budget-cost USD] "
      "[--budget-time DUR]");
  app->add_option("TASK", a->tasks,
                  "a task directory, a built-in task's name, or problem.py; for a suite, "
                  "directories of them or LIST files (one PROBLEM [START] a line)")
      ->type_name("");
  app->add_option("--resume", *resume_dir, "go on with this run (its own task and settings)")
      ->type_name("RUN_DIR");
  app->add_option("--config", *config,
                  "YAML with llm: and optimize: sections; flags given beat it (docs/optimize.md, "
                  "docs/llm.md)")
      ->type_name("FILE");
  AddRunOptions(app.get(), &o);
  app->add_option("--eval-lock", o.eval_lock,
                  "judge one candidate at a time among the runs sharing this lock file")
      ->type_name("FILE");
  app->add_option("--jobs", a->jobs, "suite: problems in flight (default: two per device)")
      ->type_name("N")
      ->check(PositiveInteger());
  app->add_option("--devices", a->devices,
                  "suite: GPU ordinals to spread the problems over, one candidate judged at a "
                  "time on each (default: the machine as one device)")
      ->type_name("LIST")
      ->delimiter(',');
  AddEvalOptions(app.get(), &o.eval);
  return app;
}

}  // namespace

Parsed<OptimizeArgs> ParseOptimizeCommandArgs(const std::vector<std::string>& args) {
  OptimizeArgs a;
  std::string resume_dir, config;
  auto app = OptimizeApp(&a, &resume_dir, &config);
  if (auto stop = ParseArgs(app.get(), args)) return *stop;
  if (resume_dir.empty() && IsSuiteInput(a.tasks)) {
    if (auto stop = FinishSuiteOptions(*app, &a)) return *stop;
    return a;
  }
  if (a.tasks.size() > 1) return UsageError(*app, "expected one TASK");
  const std::string task = a.tasks.empty() ? "" : a.tasks.front();
  if (auto stop = FinishRunOptions(*app, task, resume_dir, config, &a.run)) return *stop;
  return a;
}

Parsed<search::OptimizeOptions> ParseOptimizeArgs(const std::vector<std::string>& args) {
  auto parsed = ParseOptimizeCommandArgs(args);
  if (const auto* stop = std::get_if<ParseStop>(&parsed)) return *stop;
  OptimizeArgs& a = std::get<OptimizeArgs>(parsed);
  if (a.suite) return ParseStop{2, "kforge optimize: expected one TASK, not a suite"};
  return a.run;
}

int RunOptimizeCommand(const std::vector<std::string>& args) {
  auto parsed = ParseOptimizeCommandArgs(args);
  if (const auto* stop = std::get_if<ParseStop>(&parsed)) return Finish(*stop);
  OptimizeArgs& a = std::get<OptimizeArgs>(parsed);
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (a.suite) {
    a.suite->interrupt = &g_interrupted;
    a.suite->progress_tty = isatty(2);
    auto r = search::RunSuite(*a.suite);
    if (!r.ok()) {
      std::fprintf(stderr, "kforge optimize: %s\n", r.status().message().c_str());
      return 2;
    }
    std::fputs(search::SuiteMarkdown(*r).c_str(), stdout);
    std::printf("\nreport: %s\n", (a.suite->dir / "report.md").c_str());
    return 0;
  }
  search::OptimizeOptions& o = a.run;
  o.progress_tty = isatty(2);
  o.interrupt = &g_interrupted;
  auto r = search::RunOptimize(o);
  if (!r.ok()) {
    std::fprintf(stderr, "kforge optimize: %s\n", r.status().message().c_str());
    return 2;
  }
  return 0;
}

}  // namespace kf::cli
