#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "eval/evaluator.h"
#include "eval/machine.h"
#include "task/task.h"

namespace kf::cli {
namespace fs = std::filesystem;

namespace {

bool ParsePositive(const std::string& flag, const std::string& v, double* out) {
  try {
    size_t used = 0;
    *out = std::stod(v, &used);
    if (used == v.size() && *out > 0) return true;
  } catch (const std::exception&) {
  }
  std::fprintf(stderr, "kforge eval: %s expects a positive number, got '%s'\n", flag.c_str(),
               v.c_str());
  return false;
}

}  // namespace

int RunEval(const std::vector<std::string>& args) {
  eval::EvalOptions opt;
  bool json = false;
  // Candidates after the first compile ahead on the host's cores while earlier ones run.
  int compile_jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> devices;  // CUDA: one evaluator (and worker) per GPU; default every visible one
  std::vector<std::string> positional;
  task::Sizes sizes;
  std::string dtype;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "kforge eval: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--json") {
      json = true;
    } else if (a == "--no-sandbox") {
      opt.sandbox = false;
    } else if (a == "--devices") {
      if (!value(&v)) return 2;
      devices.clear();
      std::stringstream ss(v);
      std::string d;
      while (std::getline(ss, d, ',')) {
        if (d.empty() || d.size() > 3 || d.find_first_not_of("0123456789") != std::string::npos) {
          std::fprintf(stderr, "kforge eval: --devices expects GPU ordinals like 0,1, got '%s'\n",
                       v.c_str());
          return 2;
        }
        devices.push_back(std::stoi(d));
      }
    } else if (a == "--ncu") {
      opt.ncu = true;
    } else if (a == "--no-seccomp") {
      opt.seccomp = false;
    } else if (a == "--seed") {
      if (!value(&v)) return 2;
      try {
        size_t used = 0;
        opt.seed = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        std::fprintf(stderr, "kforge eval: --seed expects a non-negative integer, got '%s'\n",
                     v.c_str());
        return 2;
      }
    } else if (a == "--run-timeout") {
      if (!value(&v) || !ParsePositive(a, v, &opt.run_timeout_s)) return 2;
    } else if (a == "--compile-timeout") {
      if (!value(&v) || !ParsePositive(a, v, &opt.compile_timeout_s)) return 2;
    } else if (a == "--worker-memory") {
      double mib = 0;
      if (!value(&v) || !ParsePositive(a, v, &mib)) return 2;
      opt.worker_memory_bytes = static_cast<unsigned long long>(mib * 1024 * 1024);
    } else if (a == "--compile-jobs") {
      if (!value(&v)) return 2;
      if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos) {
        std::fprintf(stderr,
                     "kforge eval: --compile-jobs expects a count (0: no compiling "
                     "ahead), got '%s'\n",
                     v.c_str());
        return 2;
      }
      compile_jobs = std::stoi(v);
    } else if (a == "--timing-seconds") {
      if (!value(&v) || !ParsePositive(a, v, &opt.timing_seconds)) return 2;
    } else if (a == "--dtype") {
      if (!value(&dtype)) return 2;
    } else if (a == "--sizes") {
      if (!value(&v)) return 2;
      auto parsed = task::ParseSizesArg(v);
      if (!parsed.ok()) {
        std::fprintf(stderr, "kforge eval: %s\n", parsed.status().message().c_str());
        return 2;
      }
      sizes = *parsed;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "kforge eval: unknown option '%s' (see kforge help)\n", a.c_str());
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() < 2) {
    std::fprintf(stderr, "usage: kforge eval TASK CANDIDATE [CANDIDATE...] [--json]\n");
    return 2;
  }
  auto dir = ResolveTask(positional[0]);
  if (!dir.ok()) {
    std::fprintf(stderr, "kforge eval: %s\n", dir.status().message().c_str());
    return 2;
  }
  auto task = task::LoadTask(*dir, sizes, dtype);
  if (!task.ok()) {
    std::fprintf(stderr, "kforge eval: %s\n", task.status().message().c_str());
    return 2;
  }
  for (size_t i = 1; i < positional.size(); ++i) {
    if (!fs::is_regular_file(positional[i])) {
      std::fprintf(stderr, "kforge eval: %s: no such file\n", positional[i].c_str());
      return 2;
    }
  }
  std::vector<fs::path> candidates(positional.begin() + 1, positional.end());
  if (task->backend != "cuda") {
    devices = {0};
  } else if (devices.empty()) {
    for (int d = 0; d < std::max(1, eval::VisibleGpuCount()); ++d) devices.push_back(d);
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
  if (candidates.size() > 1 && compile_jobs > 0) {
    evaluators[0]->Precompile({candidates.begin() + 1, candidates.end()}, compile_jobs);
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
    if (json) {
      std::cout << r->ToJson().dump() << std::endl;
    } else {
      std::cout << r->Summary() << std::flush;
    }
  }
  for (auto& t : threads) t.join();
  return status;
}

}  // namespace kf::cli
