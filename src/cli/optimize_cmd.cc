// `kforge optimize TASK ...`: argument parsing, Ctrl-C, and the call into search::RunOptimize.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

#include "cli/commands.h"
#include "search/optimize.h"

namespace kf::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) {
  if (g_interrupted.exchange(true)) _exit(130);  // a second Ctrl-C: stop now
  const char msg[] =
      "\nkforge optimize: stopping after the current step (Ctrl-C again to quit now)\n";
  (void)!write(2, msg, sizeof(msg) - 1);
}

const char* kUsage = R"(usage: kforge optimize TASK [options]
       kforge optimize --resume RUN_DIR [--budget-evals N] [--budget-cost USD] [--budget-time DUR]
  --strategy S          agent (default), swarm, evolve, or tune (no model: searches the values
                        a program declares with // kforge-tune:)
  --llm SPEC            a model (repeatable): openai:MODEL, anthropic:MODEL,
                        openai-compatible:BASE_URL#MODEL, command:PROGRAM ARGS, exchange:DIR
  --config FILE         YAML with llm: and optimize: sections (docs/optimize.md, docs/llm.md)
  --budget-evals N      candidates to judge, the starting program included (default 20)
  --budget-cost USD     stop asking models once this much is spent
  --budget-time DUR     stop after this long: 90s, 30m, 2h
  --seed N              the run's seed: model picks, tune sampling (default 1)
  --out RUN_DIR         where the store, best program and report go (default runs/TASK-TIME)
  --attempts N          agent: attempts per round before restarting from the best (default 5)
  --samples N           swarm: requests per round (default: one per model)
  --start FILE          start from this program instead of the task's initial one
  --tune-after N        then tune the best program's // kforge-tune: parameters, N more evals
  --timing-seconds SEC, --run-timeout SEC, --no-sandbox: as for kforge eval
)";

int Usage(const std::string& why) {
  std::fprintf(stderr, "kforge optimize: %s\n\n%s", why.c_str(), kUsage);
  return 2;
}

// "90", "90s", "30m", "2h" as seconds; -1 when unreadable.
double ParseDuration(const std::string& s) {
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    const std::string unit = s.substr(used);
    if (unit.empty() || unit == "s") return v;
    if (unit == "m") return v * 60;
    if (unit == "h") return v * 3600;
  } catch (const std::exception&) {
  }
  return -1;
}

}  // namespace

int RunOptimizeCommand(const std::vector<std::string>& args) {
  search::OptimizeOptions o;
  o.budget_evals = -1;  // -1: not given (the default, or the resumed run's own)
  o.budget_cost_usd = -1;
  o.budget_time_s = -1;
  std::string task_arg, resume_dir;
  std::string config;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
    try {
      if (a == "--help" || a == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (a == "--no-sandbox") {
        o.eval.sandbox = false;
      } else if (a.rfind("--", 0) == 0) {
        const std::string* v = value();
        if (!v) return Usage(a + " needs a value");
        if (a == "--strategy") {
          o.strategy = *v;
        } else if (a == "--llm") {
          o.llm_specs.push_back(*v);
        } else if (a == "--config") {
          config = *v;
        } else if (a == "--budget-evals") {
          o.budget_evals = std::stoll(*v);
        } else if (a == "--budget-cost") {
          o.budget_cost_usd = std::stod(*v);
        } else if (a == "--budget-time") {
          o.budget_time_s = ParseDuration(*v);
          if (o.budget_time_s < 0) return Usage("--budget-time: '" + *v + "' (e.g. 90s, 30m, 2h)");
        } else if (a == "--seed") {
          o.seed = std::stoull(*v);
        } else if (a == "--out") {
          o.run_dir = *v;
        } else if (a == "--resume") {
          resume_dir = *v;
        } else if (a == "--attempts") {
          o.attempts_per_round = std::stoi(*v);
        } else if (a == "--samples") {
          o.samples_per_round = std::stoi(*v);
        } else if (a == "--tune-after") {
          o.tune_after = std::stoll(*v);
        } else if (a == "--start") {
          o.start_program = *v;
        } else if (a == "--timing-seconds") {
          o.eval.timing_seconds = std::stod(*v);
        } else if (a == "--run-timeout") {
          o.eval.run_timeout_s = std::stod(*v);
        } else {
          return Usage("unknown option '" + a + "'");
        }
      } else if (task_arg.empty()) {
        task_arg = a;
      } else {
        return Usage("unexpected argument '" + a + "'");
      }
    } catch (const std::exception&) {
      return Usage(a + ": not a number");
    }
  }
  if (!resume_dir.empty()) {
    if (!task_arg.empty())
      return Usage("--resume takes the run's own task; drop '" + task_arg + "'");
    o.resume = true;
    o.run_dir = resume_dir;
    if (!std::filesystem::exists(std::filesystem::path(resume_dir) / "run.sqlite")) {
      return Usage(resume_dir + " is not a run directory (no run.sqlite)");
    }
  } else {
    if (task_arg.empty()) return Usage("expected a TASK (a directory or a built-in name)");
    auto dir = ResolveTask(task_arg);
    if (!dir.ok()) return Usage(dir.status().message());
    o.task_dir = *dir;
    if (!config.empty()) {
      o.config_file = config;
      // Config first, then the flags given again on top.
      search::OptimizeOptions flags = o;
      if (auto s = search::ApplyOptimizeConfig(config, &o); !s.ok()) return Usage(s.message());
      if (flags.budget_evals >= 0) o.budget_evals = flags.budget_evals;
      if (flags.budget_cost_usd >= 0) o.budget_cost_usd = flags.budget_cost_usd;
      if (flags.budget_time_s >= 0) o.budget_time_s = flags.budget_time_s;
      for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--strategy") o.strategy = flags.strategy;
        if (args[i] == "--seed") o.seed = flags.seed;
      }
    }
    if (o.run_dir.empty()) {
      char stamp[32];
      const std::time_t now = std::time(nullptr);
      std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
      o.run_dir = std::filesystem::path("runs") / (o.task_dir.filename().string() + "-" + stamp);
    }
  }
  o.progress_tty = isatty(2);
  o.interrupt = &g_interrupted;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  auto r = search::RunOptimize(o);
  if (!r.ok()) {
    std::fprintf(stderr, "kforge optimize: %s\n", r.status().message().c_str());
    return 2;
  }
  return 0;
}

}  // namespace kf::cli
