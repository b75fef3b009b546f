// The kforge command. Thin: picks the command by its name; each command parses its own arguments
// (cli_app.h) and calls the libraries. Exceptions stop here.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

const char* kUsage = R"(kforge: makes kernels fast, and proves it

usage:
  kforge eval TASK CANDIDATE [CANDIDATE...] [options]
      Judge candidates for a task: static checks, compile, correctness, timing against the
      task's baseline, roofline. TASK is a task directory, a built-in name (softmax_rows)
      or a PyTorch module file (problem.py).
      --json                one JSON object per candidate (JSON Lines)
      --seed N              reproduce an evaluation (default: a fresh secret seed)
      --compile-jobs N      compile later candidates ahead, N at a time (default: cores; 0: no)
      --devices LIST        CUDA: GPU ordinals to use, one evaluator each (default: all visible)
      --sizes N=V,...       other sizes: a PyTorch module's integer constants, a task's sizes
      --dtype float16|bfloat16  a PyTorch module and its floating inputs in half precision
    Evaluation options, the same for eval, optimize and bench:
      --run-timeout SEC     deadline per call of the candidate (default 10)
      --compile-timeout SEC deadline per compile (default 60)
      --timing-seconds SEC  cap on timed runs per program (default 1)
      --worker-memory MIB   address-space limit per worker (default 4096)
      --no-sandbox          run workers without bubblewrap (the system-call filter stays)
      --no-seccomp          run workers without the system-call filter (bubblewrap stays)
      --ncu                 CUDA: Nsight Compute summary of each correct candidate
  kforge optimize TASK [--strategy agent|swarm|evolve|tune] [--llm SPEC ...] [--config FILE]
                  [--budget-evals N] [--budget-cost USD] [--budget-time DUR] [--seed N]
                  [--out RUN_DIR] | kforge optimize --resume RUN_DIR
      Search for a faster program: models propose, kforge judges, records every candidate in
      RUN_DIR/run.sqlite, and writes RUN_DIR/best.* and report.md (`kforge optimize --help`).
      Its --seed is the run's (model picks, tune sampling); evaluations keep fresh secret seeds.
  kforge optimize DIR|LIST ... [--jobs N] [--devices LIST] [--out SUITE_DIR] [run options]
      A suite: every problem (task directories, problem files, LIST files naming them) in a
      run of its own under SUITE_DIR, several at once; SUITE_DIR/report.md adds them up (per
      problem, per model within k attempts, fast_p, geometric means, cost). Run it again to
      go on: finished problems are skipped.
  kforge import PROBLEMS_DIR|PROBLEM.py --out TASKS_DIR [--backend cpu|cuda] [--sizes N=V,...]
                [--dtype float16|bfloat16] [--jobs N]
      Turn PyTorch modules in KernelBench format (Model, get_inputs, get_init_inputs) into task
      directories, probing them in parallel; a module file also works directly as TASK
      (docs/pytorch.md).
  kforge bench PROBLEMS_DIR --candidates DIR [--out DIR] [--seed N]
               | kforge bench --from-run RUN_DIR... [--out DIR] [--seed N]
      Judge each PyTorch problem's candidate against eager and torch.compile; per-problem
      table, fast_p (p = 0, 1, 1.5, 2) and geometric means, as bench.md and bench.json.
  kforge serve [RUN_DIR|DIR ...] [--port N] [--host ADDR]
      A live web dashboard of runs (default: the runs under ./runs) at http://127.0.0.1:8321/:
      status, best speedup over time, lineage, MAP-Elites grid, roofline, candidate pages, and
      its JSON API under /api/ (docs/dashboard.md).
  kforge report RUN_DIR|SUITE_DIR [--html|--md] [--out PATH]
      A self-contained report of a run (or of a suite, with each run's own): one HTML file with inline SVG charts, or markdown with
      SVG plots beside it (docs/dashboard.md).
  kforge export RUN_DIR|PROGRAM --task TASK --torch-op NAMESPACE::NAME --out DIR
      Write a Python package that registers the program (a run's best.*) as a PyTorch custom
      op, compiled on first use; it needs no kforge at run time (docs/export.md).
  kforge mcp [--tasks DIR ...] [--runs DIR]
      A Model Context Protocol server on stdio: tasks, eval, profile and history as tools
      for a coding agent (docs/mcp.md).
  kforge tasks [DIR]
      List built-in tasks, or the tasks under DIR.
  kforge llm ping SPEC | kforge llm ask SPEC PROMPT [options]
      Reach a model: SPEC is openai:MODEL, anthropic:MODEL, openai-compatible:BASE_URL#MODEL,
      command:PROGRAM ARGS or exchange:DIR (`kforge llm help`, docs/llm.md).
  kforge help
      This overview; `kforge COMMAND --help` lists every option of a command.

Exit status: 0 when every evaluation completed, whatever its verdict; 1 when a model request
failed (`kforge llm`); 2 when kforge could not run (bad arguments, a bad task file).
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "eval") return kf::cli::RunEval(args);
    if (command == "tasks") return kf::cli::RunTasks(args);
    if (command == "llm") return kf::cli::RunLlm(args);
    if (command == "optimize") return kf::cli::RunOptimizeCommand(args);
    if (command == "import") return kf::cli::RunImport(args);
    if (command == "bench") return kf::cli::RunBench(args);
    if (command == "serve") return kf::cli::RunServe(args);
    if (command == "report") return kf::cli::RunReport(args);
    if (command == "export") return kf::cli::RunExport(args);
    if (command == "mcp") return kf::cli::RunMcp(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kforge: internal error: %s\n", e.what());
    return 3;
  }
  std::fprintf(stderr, "kforge: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
