// `kforge eval TASK CANDIDATE...`: one evaluator per device, candidates judged in turn, results
// printed in the order given.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <variant>

#include "backends/backend.h"
#include "cli/cli_app.h"
#include "cli/commands.h"
#include "eval/evaluator.h"
#include "task/task.h"

namespace kf::cli {
namespace fs = std::filesystem;

namespace {

// "0,1,3": GPU ordinals.
CLI::Validator GpuOrdinals() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        bool ok = !text.empty() && text.back() != ',';
        std::stringstream ss(text);
        for (std::string d; ok && std::getline(ss, d, ',');) {
          ok =
              !d.empty() && d.size() <= 3 && d.find_first_not_of("0123456789") == std::string::npos;
        }
        return ok ? "" : "expects GPU ordinals like 0,1, got '" + text + "'";
      },
      "");
}

}  // namespace

Parsed<EvalArgs> ParseEvalArgs(const std::vector<std::string>& args) {
  EvalArgs a;
  // Candidates after the first compile ahead on the host's cores while earlier ones run.
  a.compile_jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto app = NewCommandApp(
      "eval",
      "Judge candidates for a task: static checks, compile, correctness, timing against the "
      "task's baseline, roofline. TASK is a task directory, a built-in name (softmax_rows) or a "
      "PyTorch module file (problem.py).");
  app->add_option("TASK", a.task, "a task directory, a built-in task's name, or problem.py")
      ->type_name("")
      ->required();
  app->add_option("CANDIDATE", a.candidates, "the programs to judge, in this order")
      ->type_name("")
      ->required()
      ->take_all();
  app->add_flag("--json", a.json, "one JSON object per candidate (JSON Lines)");
  app->add_option("--compile-jobs", a.compile_jobs,
                  "compile later candidates ahead, N at a time (default: cores; 0: no)")
      ->type_name("N")
      ->check(IntegerAtMost(9999));
  app->add_option_function<std::string>(
         "--devices",
         [&a](const std::string& text) {
           a.devices.clear();
           std::stringstream ss(text);
           for (std::string d; std::getline(ss, d, ',');) a.devices.push_back(std::stoi(d));
         },
         "CUDA: GPU ordinals to use, one evaluator each (default: all visible)")
      ->type_name("LIST")
      ->check(GpuOrdinals());
  AddSizeOptions(app.get(), &a.sizes, &a.dtype);
  AddEvalSeedOption(app.get(), &a.options);
  AddEvalOptions(app.get(), &a.options);
  if (auto stop = ParseArgs(app.get(), args)) return *stop;
  return a;
}

int RunEval(const std::vector<std::string>& args) {
  auto parsed = ParseEvalArgs(args);
  if (const auto* stop = std::get_if<ParseStop>(&parsed)) return Finish(*stop);
  EvalArgs& a = std::get<EvalArgs>(parsed);
  const eval::EvalOptions& opt = a.options;
  std::vector<int>& devices = a.devices;
  auto dir = ResolveTask(a.task);
  if (!dir.ok()) {
    std::fprintf(stderr, "kforge eval: %s\n", dir.status().message().c_str());
    return 2;
  }
  auto task = task::LoadTask(*dir, a.sizes, a.dtype);
  if (!task.ok()) {
    std::fprintf(stderr, "kforge eval: %s\n", task.status().message().c_str());
    return 2;
  }
  for (const auto& candidate : a.candidates) {
    if (!fs::is_regular_file(candidate)) {
      std::fprintf(stderr, "kforge eval: %s: no such file\n", candidate.c_str());
      return 2;
    }
  }
  const std::vector<fs::path> candidates(a.candidates.begin(), a.candidates.end());
  const backends::Backend& backend = backends::GetBackend(task->backend);
  if (!backend.HasDeviceOrdinals()) {
    devices = {0};
  } else if (devices.empty()) {
    for (int d = 0; d < std::max(1, backend.DeviceCount()); ++d) devices.push_back(d);
  }
  if (devices.size() > candidates.size()) devices.resize(candidates.size());
  if (std::set<int>(devices.begin(), devices.end()).size() < devices.size()) {
    std::fprintf(stderr,
                 "kforge eval: warning: several evaluators share a GPU; their timings "
                 "disturb each other\n");
  }
  // One evaluator per device, each in a thread of its own, taking the next candidate in turn;
  // results are printed in the order the candidates were given.
  std::vector<std::unique_ptr<eval::Evaluator>> evaluators;
  for (int d : devices) {
    eval::EvalOptions o = opt;
    o.device = d;
    o.prestart = candidates.size() > devices.size();
    evaluators.push_back(std::make_unique<eval::Evaluator>(*task, o));
  }
  if (candidates.size() > 1 && a.compile_jobs > 0) {
    evaluators[0]->Precompile({candidates.begin() + 1, candidates.end()}, a.compile_jobs);
  }
  std::vector<std::optional<Result<eval::EvalResult>>> results(candidates.size());
  std::mutex mu;
  std::condition_variable ready;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (auto& ev : evaluators) {
    threads.emplace_back([&, e = ev.get()] {
      for (size_t i = next++; i < candidates.size(); i = next++) {
        Result<eval::EvalResult> r =
            Status::Error("not evaluated: an earlier evaluation could not run");
        if (!failed) {
          try {
            r = e->Evaluate(candidates[i]);
          } catch (const std::exception& ex) {
            r = Status::Error(std::string("internal error: ") + ex.what());
          }
          if (!r.ok()) failed = true;
        }
        std::lock_guard<std::mutex> lock(mu);
        results[i] = std::move(r);
        ready.notify_all();
      }
    });
  }
  int status = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    std::unique_lock<std::mutex> lock(mu);
    ready.wait(lock, [&] { return results[i].has_value(); });
    const auto& r = *results[i];
    if (!r.ok()) {
      std::fprintf(stderr, "kforge eval: %s\n", r.status().message().c_str());
      status = 2;
      break;
    }
    if (a.json) {
      std::cout << r->ToJson().dump() << std::endl;
    } else {
      std::cout << r->Summary() << std::flush;
    }
  }
  for (auto& t : threads) t.join();
  return status;
}

}  // namespace kf::cli
