// The evaluator: one evaluation's stages in order (docs/architecture.md); the parts live in
// eval_trials.cc, eval_timing.cc and eval_torch.cc (evaluator_impl.h).
#include "backends/cpu/host.h"
#include "eval/evaluator_impl.h"

namespace kf::eval {

namespace {

fs::path SelfDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

}  // namespace

Evaluator::Impl::Impl(task::Task task, EvalOptions options)
    : task_(std::move(task)),
      backend_(backends::GetBackend(task_.backend)),
      opt_(std::move(options)),
      compiler_(opt_.cache_dir.empty() ? DefaultCacheDir() : opt_.cache_dir,
                opt_.compile_timeout_s) {
  if (opt_.worker_binary.empty()) opt_.worker_binary = SelfDir() / backend_.worker_executable();
  compiler_.set_tools_dir(opt_.worker_binary.parent_path());
  compiler_.set_sandbox(opt_.sandbox);
  std::error_code ec;
  static std::atomic<int> instances{0};
  scratch_root_ = fs::temp_directory_path(ec) /
                  ("kforge-" + std::to_string(getpid()) + "-" + std::to_string(instances++));
  fs::create_directories(scratch_root_, ec);
  WorkerConfig wc;
  wc.binary = opt_.worker_binary;
  wc.scratch_root = scratch_root_;
  wc.read_only = {compiler_.cache_dir()};
  wc.sandbox = opt_.sandbox;
  wc.seccomp = opt_.seccomp;
  wc.limits.address_space_bytes = opt_.worker_memory_bytes;
  WorkerConfig ref_config = wc;
  ref_config.binary = opt_.worker_binary.parent_path() /
                      backends::GetBackend(BackendKind::kCpu).worker_executable();
  // The task's rule on threads, enforced by the filter of the workers that run its programs (the
  // reference, trusted, may use every core).
  if (backend_.RunsOnHostCores()) wc.threads = task_.allows_threads;
  if (backend_.MapsDeviceMemory()) {
    // The GPU driver maps the whole device's address range: an address-space limit cannot hold.
    wc.limits.address_space_bytes = 0;
    wc.devices = backend_.DeviceNodes();
    wc.args = {"--device", std::to_string(opt_.device)};
    if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) {
      wc.env.push_back(std::string("CUDA_VISIBLE_DEVICES=") + v);
    }
  }
  cand_config_ = wc;
  native_cand_ = std::make_unique<WorkerSlot>(wc, 0);
  base_ = std::make_unique<WorkerSlot>(wc, 3);
  cand_ = native_cand_.get();
  if (task_.torch) {
    // The PyTorch bridge (kforge_torch_bridge.py) under the task's python3: the reference worker
    // (the module itself, trusted: torch.compile forks its compilers, so no system-call filter)
    // and a worker per ModelNew candidate (filtered once the candidate is loaded).
    torch_ = true;
    init_seed_ = opt_.seed ? Mix(*opt_.seed ^ 0x1417ULL) : Mix(std::random_device{}());
    const fs::path script = task::BridgeScript();
    const std::string device = backend_.TorchDevice(opt_.device);
    WorkerConfig bridge = wc;
    bridge.threads = true;  // torch's own threads; the bridge does not take --no-threads
    bridge.binary = task_.torch->python;
    bridge.args = {script.string(), "--device", device};
    bridge.read_only = {compiler_.cache_dir(), script.parent_path(),
                        task_.torch->file.parent_path()};
    bridge.limits.address_space_bytes = 0;  // torch maps far more than it uses
    bridge.start_timeout_s = 120;           // importing torch, a CUDA context
    bridge.env.push_back("PYTHONDONTWRITEBYTECODE=1");
    bridge.env.push_back("KFORGE_SECCOMP_LIB=" +
                         (opt_.worker_binary.parent_path() / "libkforge-seccomp.so").string());
    if (backend_.MapsDeviceMemory()) {
      bridge.devices = backend_.DeviceNodes();
      if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) {
        bridge.env.push_back(std::string("CUDA_VISIBLE_DEVICES=") + v);
      }
    }
    WorkerConfig py_cand = bridge;
    py_cand.args.insert(py_cand.args.end(), {"--role", "candidate"});
    py_cand_ = std::make_unique<WorkerSlot>(py_cand, 2);
    py_cand_config_ = py_cand;
    bridge.args.insert(bridge.args.end(), {"--role", "reference"});
    bridge.seccomp = false;
    bridge.limits.file_size_bytes = 0;  // Inductor's precompiled headers are large
    bridge.limits.open_files = 4096;
    ref_ = std::make_unique<WorkerSlot>(bridge, 1);
    return;
  }
  ref_ = std::make_unique<WorkerSlot>(ref_config, 1);
}

int Evaluator::Impl::TimedSetCount(const Layout& l, size_t llc) const {
  // What one call brings in from memory: a native program's whole set; for a PyTorch task, the
  // forward inputs alone (the bridges rotate those; outputs are torch's own allocations, which
  // its caching allocator hands back warm).
  size_t rotated = l.set_bytes;
  if (torch_) {
    rotated = 0;
    for (size_t i = 0; i < task_.torch->forward_inputs; ++i) {
      rotated += static_cast<size_t>(l.elements[i]) * task::DTypeSize(l.dtype[i]);
    }
    rotated = std::max<size_t>(rotated, 1);
  }
  int sets = static_cast<int>(std::clamp<size_t>((2 * llc + rotated - 1) / rotated, 2, kMaxSets));
  while (sets > 2 && static_cast<size_t>(sets) * l.set_bytes > (2ull << 30)) --sets;
  return sets;
}

void Evaluator::Impl::Evaluation::Mark(const char* stage) {
  const double now = MonotonicSeconds();
  stages[stage] = stages.value(stage, 0.0) + (now - stage_start);
  stage_start = now;
}

Result<EvalResult> Evaluator::Impl::Evaluate(const fs::path& candidate) {
  Evaluation e;
  e.start = e.stage_start = MonotonicSeconds();
  e.candidate = candidate;
  // A ModelNew file (PyTorch tasks) runs in a bridge worker of its own; the rest natively.
  e.python = candidate.extension() == ".py";
  cand_ = e.python && torch_ ? py_cand_.get() : native_cand_.get();
  // A candidate's worker is fresh (rule 21): retired after the last candidate, and prestarted
  // meanwhile; one that has run anything since (a baseline check) is retired now.
  if (cand_->loads > 0) cand_->Retire();
  // A PyTorch task's reference bridge starts beside the candidate's (each a torch import).
  if (torch_ && !ref_->current()) ref_->RetireAndPrestart();

  e.res.task = task_.name;
  e.res.candidate = candidate.string();
  std::error_code ec;
  if (!fs::is_regular_file(candidate, ec))
    return Status::Error(candidate.string() + ": no such file");
  e.seed = opt_.seed.value_or(0);
  if (!opt_.seed) {
    std::random_device rd;
    e.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  e.res.seed = e.seed;
  prof_ = Profile();
  native_cand_->start_seconds = ref_->start_seconds = 0;
  if (py_cand_) py_cand_->start_seconds = 0;
  // The stages in order; the first failure is the verdict.
  for (auto stage : {&Impl::CompileCandidate, &Impl::SetUpWorkers, &Impl::CheckCorrectness,
                     &Impl::TimeCandidate, &Impl::Summarise}) {
    auto f = (this->*stage)(e);
    if (!f.ok()) return f.status();
    if (*f) return Finish(e, *f);
  }
  return Finish(e, std::nullopt);
}

// Static checks, then the candidate compiled (and the task's own programs on first use).
Result<std::optional<Failure>> Evaluator::Impl::CompileCandidate(Evaluation& e) {
  // Static checks, before paying for a compile.
  e.source = ReadFile(e.candidate);
  if (e.python && !torch_) {
    return std::optional<Failure>(Failure{
        Verdict::kCompileError, "a Python candidate (ModelNew) is for PyTorch tasks; task " +
                                    task_.name + " takes " + backend_.language()});
  }
  if (auto v =
          e.python ? RunPythonStaticChecks(e.source) : RunStaticChecks(e.source, task_.policy)) {
    Failure f{Verdict::kStaticViolation,
              "line " + std::to_string(v->line) + " uses '" + v->identifier + "' (rule '" +
                  v->rule + "', forbidden " +
                  std::string(e.python ? "in ModelNew candidates" : "by the task's policy") +
                  "): " + v->text};
    f.extra["static"] = {
        {"rule", v->rule}, {"identifier", v->identifier}, {"line", v->line}, {"text", v->text}};
    return std::optional<Failure>(f);
  }

  // Compile the candidate, and the task's own programs on first use, in parallel.
  const double compile_start = MonotonicSeconds();
  if (torch_ && !initial_) {
    // The module is the reference and, eager and compiled, the baselines: the bridge runs them.
    initial_ = Loaded{};
    initial_->torch_handle = "eager";
    initial_->slot = ref_.get();
    for (const auto& b : task_.torch->baselines) {
      Loaded l;
      l.torch_handle = "compile";
      l.torch_mode = b.size() > 8 ? b.substr(8) : "";
      l.slot = ref_.get();
      vendor_.push_back(l);
      task_.baselines.push_back(
          {b == "compile" ? "torch.compile" : "torch." + b, task_.torch->file, {}});
    }
  }
  if (torch_ && e.python) {
    e.cand.library = fs::absolute(e.candidate);
    e.cand.torch_handle = "candidate";
    e.cand.slot = py_cand_.get();
  } else {
    auto cand_job = std::async(
        std::launch::async, [&] { return compiler_.Compile(e.candidate, task_.allows_threads); });
    if (!reference_ && !torch_) {
      auto r = CompileProgram(task_.reference, "reference");
      if (!r.ok()) return r.status();
      reference_ = *r;
    }
    if (!initial_ && !torch_) {
      auto r = CompileProgram(task_.initial, "initial program");
      if (!r.ok()) return r.status();
      initial_ = *r;
    }
    for (size_t b = vendor_.size(); b < task_.baselines.size() && !torch_; ++b) {
      const auto& spec = task_.baselines[b];
      auto c = compiler_.Compile(spec.program, task_.allows_threads, spec.libraries);
      if (!c.ok()) return c.status();
      if (!c->ok) {
        return Status::Error("the task's baseline '" + spec.name + "' (" + spec.program.string() +
                             ") does not compile:\n" + c->log);
      }
      vendor_.push_back(Loaded{c->library, -1, -1, c->kernel_only, c->launches, c->lowered_names,
                               "", "", base_.get()});
    }
    auto compiled = cand_job.get();
    e.compile_wall = MonotonicSeconds() - compile_start;
    if (!compiled.ok()) return compiled.status();
    e.res.compile_seconds = compiled->seconds;
    if (!compiled->ok && !compiled->include_violation.empty()) {
      // An include of a host file (rule 22: includes checked after preprocessing).
      Failure f{Verdict::kStaticViolation, "the program includes '" + compiled->include_violation +
                                               "', a file outside the system and toolkit headers"};
      f.extra["static"] = {{"rule", "include"}, {"identifier", compiled->include_violation}};
      return std::optional<Failure>(f);
    }
    if (!compiled->ok) {
      Failure f{Verdict::kCompileError, compiled->timed_out
                                            ? "the compiler did not finish within the deadline"
                                            : "the program does not compile"};
      std::string log = compiled->log;
      const std::string cached_source = (compiled->library.parent_path() / "program").string();
      for (size_t at = log.find(cached_source); at != std::string::npos;
           at = log.find(cached_source, at)) {
        const size_t ext_end = log.find_first_of(":( \n", at + cached_source.size());
        log.replace(at, ext_end - at, e.candidate.filename().string());
      }
      f.extra = {{"compiler_log", log}, {"command", compiled->command}};
      if (!compiled->resources.is_null()) f.extra["resources"] = compiled->resources;
      return std::optional<Failure>(f);
    }
    if (compiled->kernel_only) {
      if (task_.backend != BackendKind::kCuda) {
        return std::optional<Failure>(
            Failure{Verdict::kCompileError,
                    "launch declarations (kforge-launch) are for CUDA tasks; task " + task_.name +
                        " is a " + backend_.name() + " task"});
      }
      if (auto specs = backends::cuda::ParseLaunchSpecs(e.source, task_.params); !specs.ok()) {
        Failure f{Verdict::kCompileError, specs.status().message()};
        f.extra = {{"command", compiled->command}};
        return std::optional<Failure>(f);
      }
    }
    // The disassembly summary is feedback, not judgement: it runs beside the trials.
    if (backend_.HasMachineCodeSummary() && !e.python) sass_ = SummarizeCode(compiled->library);
    e.cand = Loaded{compiled->library,
                    -1,
                    -1,
                    compiled->kernel_only,
                    compiled->launches,
                    compiled->lowered_names,
                    "",
                    "",
                    nullptr};
    if (!compiled->resources.is_null()) e.res.detail["resources"] = compiled->resources;
  }

  return std::optional<Failure>();
}

// The layout, the memory check, every worker's buffers sized, the candidate loaded.
Result<std::optional<Failure>> Evaluator::Impl::SetUpWorkers(Evaluation& e) {
  e.Mark("compile");
  auto w = cand_->Get();
  if (!w.ok()) return w.status();
  e.res.sandbox = (*w)->sandbox();
  if (!(*w)->sandbox_note().empty()) e.res.detail["sandbox_note"] = (*w)->sandbox_note();
  if (!ceilings_) {
    auto c = MeasureCeilings(false);
    if (!c.ok()) return c;
  }
  // Timing will rotate over enough buffer sets that each call starts with a cold last-level
  // cache. Every worker's buffers are sized now, before the candidate is loaded: memory the
  // candidate then takes (device memory it holds on to) cannot make kforge itself fail.
  auto made = MakeLayout(task_, task_.bench_sizes, false);
  if (!made.ok()) return made.status();
  e.layout = *made;
  // The cache to defeat is the worker's: the CPU's last level, or the GPU's L2.
  const size_t llc = (*w)->hello().value("cache_bytes", size_t{32} << 20);
  e.sets = TimedSetCount(*e.layout, llc);
  json memory;
  if (auto s = CheckMemory(*e.layout, e.sets, !e.cand.torch_handle.empty(), &memory); !s.ok())
    return s;
  e.res.detail["memory"] = memory;
  if (torch_ && ref_call_s_ == 0) {
    if (auto s = MeasureReferenceCall(*e.layout); !s.ok()) return s;
  }
  {
    // A bridge keeps its timed sets on its device (they pass through the start of its arena one
    // at a time); a native worker keeps them all in its arena. A PyTorch task's bridge needs one
    // set, two for checking a baseline of its own.
    const size_t total = static_cast<size_t>(e.sets) * e.layout->set_bytes;
    auto lr = ReferenceLayout(task_.bench_sizes);
    if (!lr.ok()) return lr.status();
    if (auto s = (*w)->EnsureArena(e.cand.torch_handle.empty() ? total : e.layout->set_bytes);
        !s.ok())
      return s;
    WorkerSlot& baselines = torch_ ? *ref_ : *base_;
    auto bw = baselines.Get();
    if (!bw.ok()) return bw.status();
    if (auto s = (*bw)->EnsureArena(torch_ ? TorchReferenceBytes(*e.layout, *lr, true)
                                           : std::max(total, e.layout->set_bytes + lr->set_bytes));
        !s.ok())
      return s;
    w = cand_->Get();
  }
  e.Mark("arenas");
  fresh_worker_.reset();
  if (backend_.RunsOnHostCores() && e.cand.torch_handle.empty()) {
    if (auto snap = SnapshotGroup((*w)->pid()); snap.ok()) fresh_worker_ = *snap;
  }
  if (auto f = Load(*cand_, e.cand); !f.ok() || *f) {
    if (!f.ok()) return f.status();
    return std::optional<Failure>(*f);
  }

  return std::optional<Failure>();
}

// Baselines checked once, the candidate's correctness trials, the audit, the determinism re-run.
Result<std::optional<Failure>> Evaluator::Impl::CheckCorrectness(Evaluation& e) {
  e.Mark("load");
  // A wrong baseline would make every speedup against it meaningless: check each once.
  const std::vector<Sizes> baseline_sizes =
      torch_ ? std::vector<Sizes>{task_.bench_sizes} : task_.check_sizes;
  vendor_failed_.resize(vendor_.size());
  for (size_t b = 0; b < vendor_.size() && !vendor_checked_; ++b) {
    for (size_t i = 0; i < baseline_sizes.size(); ++i) {
      auto f = Trial(vendor_[b], baseline_sizes[i], task_.distributions[0],
                     Mix(e.seed ^ (0xBA5EULL + i)), 0, 0, "baseline check", nullptr, nullptr);
      if (!f.ok()) return f.status();
      if (*f) {
        vendor_failed_[b] = **f;
        break;
      }
    }
  }
  vendor_checked_ = true;

  // Correctness: every check size with every distribution, the bench size with the first two.
  struct Plan {
    Sizes sizes;
    size_t dist;
  };
  std::vector<Plan> plan;
  for (const auto& s : task_.check_sizes) {
    for (size_t d = 0; d < task_.distributions.size(); ++d) plan.push_back({s, d});
  }
  for (size_t d = 0; d < std::min<size_t>(2, task_.distributions.size()); ++d) {
    plan.push_back({task_.bench_sizes, d});
  }
  e.Mark("baseline_check");
  for (size_t i = 0; i < plan.size(); ++i) {
    const bool first_bench = plan[i].sizes == task_.bench_sizes && e.first_bench_output.empty();
    const uint64_t trial_seed = Mix(e.seed + 1000003 * (i + 1));
    double ns = 0;
    auto f = Trial(e.cand, plan[i].sizes, task_.distributions[plan[i].dist], trial_seed, 0,
                   static_cast<int>(i % 2), "correctness",
                   first_bench ? &e.first_bench_output : nullptr, &ns);
    if (!f.ok()) return f.status();
    if (*f) return std::optional<Failure>(*f);
    if (first_bench) e.first_bench_seed = trial_seed;
    if (plan[i].sizes == task_.bench_sizes) e.bench_call_ns = std::max(e.bench_call_ns, ns);
  }

  e.Mark("correctness");
  if (auto f = AuditCandidate(e.cand, "correctness")) return std::optional<Failure>(*f);
  e.Mark("audit");

  // Determinism: the first bench trial again, same inputs, other poison.
  {
    std::vector<std::string> again;
    auto f = Trial(e.cand, task_.bench_sizes, task_.distributions[0], e.first_bench_seed, 0, 1,
                   "determinism re-run", &again, nullptr);
    if (!f.ok()) return f.status();
    if (*f) return std::optional<Failure>(*f);
    for (size_t o = 0; o < again.size() && task_.exact_determinism; ++o) {
      const auto& spec = task_.outputs[o];
      const bool whole = again[o].rfind("hash:", 0) != 0;
      const int64_t n = static_cast<int64_t>(again[o].size() / task::DTypeSize(spec.dtype));
      const int64_t at = whole ? task::FirstDifference(
                                     again[o].data(), e.first_bench_output[o].data(), spec.dtype, n)
                               : (again[o] != e.first_bench_output[o] ? 0 : -1);
      if (at >= 0) {
        auto shape = task_.Shape(spec, task_.bench_sizes);
        Failure nd{Verdict::kWrongAnswer,
                   "non-deterministic: two runs on the same inputs differ in output '" + spec.name +
                       "'" + (whole ? " at " + task::IndexToString(at, *shape) : "") +
                       " (a race, uninitialised memory or state kept between calls)"};
        nd.extra = {{"stage", "determinism re-run"}, {"output", spec.name}, {"flat_index", at}};
        return std::optional<Failure>(nd);
      }
    }
  }

  return std::optional<Failure>();
}

// Timed sets drawn and staged, alternating timed rounds, the sets checked after.
Result<std::optional<Failure>> Evaluator::Impl::TimeCandidate(Evaluation& e) {
  e.Mark("determinism");
  if (auto s = PrepareTimedSets(*e.layout, e.sets, e.seed, e.cand); !s.ok()) return s;
  e.Mark("prepare_sets");
  if (auto s = Stage(e.cand, *e.layout, e.sets); !s.ok()) return s;
  if (auto s = Stage(*initial_, *e.layout, e.sets); !s.ok()) return s;
  for (auto& v : vendor_) {
    if (&SlotOf(v) != &SlotOf(*initial_)) {
      if (auto s = Stage(v, *e.layout, e.sets); !s.ok()) return s;
    }
  }
  e.Mark("stage_sets");
  // Candidate and baselines alternate in rounds, so drift in the machine's speed hits all; each
  // is timed by this process's clock while the others' workers are paused.
  e.vendor_timing.assign(vendor_.size(), BatchTiming{});
  const double round_seconds = opt_.timing_seconds / kTimingRounds;
  for (int round = 0; round < kTimingRounds; ++round) {
    if (auto f = Time(e.cand, *e.layout, e.sets, e.bench_call_ns, round_seconds, &e.cand_timing);
        !f.ok() || *f) {
      ResumeAll();
      if (!f.ok()) return f.status();
      return std::optional<Failure>(*f);
    }
    if (auto f = Time(*initial_, *e.layout, e.sets, 0, round_seconds, &e.base_timing);
        !f.ok() || *f) {
      ResumeAll();
      if (!f.ok()) return f.status();
      return Status::Error("the task's initial program failed while timing the baseline: " +
                           (*f)->message);
    }
    for (size_t b = 0; b < vendor_.size(); ++b) {
      if (vendor_failed_[b]) continue;
      auto f = Time(vendor_[b], *e.layout, e.sets, 0, round_seconds, &e.vendor_timing[b]);
      if (!f.ok()) {
        ResumeAll();
        return f.status();
      }
      if (*f) {
        vendor_failed_[b] = **f;
        vendor_failed_[b]->message += " (while timing)";
      }
    }
  }
  // The candidate stays paused until its timed sets are checked: nothing it left running can
  // repair them meanwhile.
  e.Mark("timing");
  PauseAllBut(nullptr);
  if (auto f = AuditCandidate(e.cand, "timing")) {
    ResumeAll();
    return std::optional<Failure>(*f);
  }
  if (auto f = CheckTimedSets(e.cand, *e.layout, e.sets, e.cand_timing.calls, e.seed);
      !f.ok() || *f) {
    ResumeAll();
    if (!f.ok()) return f.status();
    return std::optional<Failure>(*f);
  }
  ResumeAll();
  return std::optional<Failure>();
}

// Times, speedups, the re-check on fresh inputs, the roofline.
Result<std::optional<Failure>> Evaluator::Impl::Summarise(Evaluation& e) {
  e.Mark("check_sets");
  e.cand_time = SummariseSamples(e.cand_timing.samples_ns);
  e.base_time = SummariseSamples(e.base_timing.samples_ns);
  e.res.time = e.cand_time;
  e.res.baseline = e.base_time;
  e.res.speedup = e.base_time.median_ms / std::max(e.cand_time.median_ms, 1e-9);
  e.res.speedup_ci = SpeedupInterval(e.base_time, e.cand_time);
  e.res.detail["timing"] = {{"clock", "orchestrator"},
                            {"calls_per_batch", e.cand_timing.calls_per_batch},
                            {"baseline_calls_per_batch", e.base_timing.calls_per_batch},
                            {"sets", e.sets}};
  for (size_t b = 0; b < vendor_.size(); ++b) {
    if (const auto& failed = vendor_failed_[b]) {
      e.res.baselines.push_back({{"name", task_.baselines[b].name},
                                 {"program", task_.baselines[b].program.filename().string()},
                                 {"verdict", VerdictName(failed->verdict)},
                                 {"message", failed->message},
                                 {"time_ms", json::object()}});
      continue;
    }
    const TimeStats t = SummariseSamples(e.vendor_timing[b].samples_ns);
    const auto ci = SpeedupInterval(t, e.cand_time);
    e.res.baselines.push_back({{"name", task_.baselines[b].name},
                               {"program", task_.baselines[b].program.filename().string()},
                               {"time_ms", StatsJson(t)},
                               {"speedup", t.median_ms / std::max(e.cand_time.median_ms, 1e-9)},
                               {"speedup_ci", {ci.first, ci.second}},
                               {"significant", ci.first > EvalResult::kSignificantRatio ||
                                                   ci.second < 1 / EvalResult::kSignificantRatio}});
  }

  e.Mark("summary");
  // Re-check on fresh inputs, in a buffer set the timed calls used.
  {
    const size_t d = task_.distributions.size() > 1 ? 1 : 0;
    auto f = Trial(e.cand, task_.bench_sizes, task_.distributions[d], Mix(e.seed ^ 0xC0FFEEULL),
                   e.sets - 1, 1, "re-check after timing", nullptr, nullptr);
    if (!f.ok()) return f.status();
    if (*f) {
      (*f)->message += " (it passed before timing: it computes differently when it is not checked)";
      return std::optional<Failure>(*f);
    }
  }

  e.Mark("recheck");
  auto roof = JudgeRoofline(e.cand_time.median_ms, e.python);
  if (!roof.ok()) return roof.status();
  e.res.roofline = roof->first;
  if (roof->second) return std::optional<Failure>(roof->second);
  if (opt_.ncu && backend_.HasProfiler() && !e.python)
    e.res.detail["ncu"] = NsightSummary(e.cand, e.seed);
  return std::optional<Failure>();
}

// The result completed (verdict, feedback, device, profile), the candidate's worker retired.
EvalResult Evaluator::Impl::Finish(Evaluation& e, std::optional<Failure> f) {
  if (f) {
    e.res.verdict = f->verdict;
    e.res.detail = f->extra;
    e.res.detail["message"] = f->message;
  }
  if (sass_.valid()) {
    if (json sass = sass_.get(); !sass.is_null()) e.res.detail["sass"] = sass;
  }
  if (Worker* w = cand_->current()) {
    std::string out = w->TakeOutput();
    if (!out.empty()) e.res.detail["output"] = out;
  }
  if (e.res.sandbox.empty()) {
    e.res.sandbox = "none";
    e.res.detail["sandbox_note"] = "the program never ran";
  }
  if (task_.backend == backends::BackendKind::kCpu)
    e.res.detail["host"] = backends::cpu::CpuFacts();
  if (Worker* w = cand_->current(); w && w->hello().contains("device")) {
    e.res.detail["device"] = w->hello()["device"];
    if (!gpu_ceilings_.is_null()) e.res.detail["device"]["ceilings"] = gpu_ceilings_;
  }
  // Every candidate gets a fresh worker (rule 21): nothing this one changed (FP control state,
  // signal handlers, timers, patched library slots, threads) reaches the next, or a baseline.
  // The next one starts now, while the caller prepares its next candidate.
  if (opt_.prestart) {
    cand_->RetireAndPrestart();
  } else {
    cand_->Retire();
  }
  if (torch_) e.res.baseline_name = "PyTorch eager";
  e.res.eval_seconds = MonotonicSeconds() - e.start;
  if (!e.res.detail.contains("message")) e.res.detail["message"] = "correct";
  const double workers =
      native_cand_->start_seconds + ref_->start_seconds + (py_cand_ ? py_cand_->start_seconds : 0);
  e.res.profile = {{"total_s", e.res.eval_seconds}, {"compile_s", e.compile_wall},
                   {"worker_start_s", workers},     {"candidate_s", prof_.candidate},
                   {"baseline_s", prof_.baseline},  {"reference_s", prof_.reference},
                   {"ceilings_s", prof_.ceilings},  {"candidate_timing_s", prof_.candidate_timing}};
  e.Mark("finish");
  e.res.profile["stages_s"] = e.stages;
  e.res.profile["harness_s"] = e.res.eval_seconds - e.compile_wall - workers - prof_.candidate -
                               prof_.baseline - prof_.reference - prof_.ceilings;
  return e.res;
}

Evaluator::Evaluator(task::Task task, EvalOptions options)
    : impl_(std::make_unique<Impl>(std::move(task), std::move(options))) {}
Evaluator::~Evaluator() = default;
Result<EvalResult> Evaluator::Evaluate(const fs::path& candidate) {
  return impl_->Evaluate(candidate);
}
void Evaluator::Precompile(const std::vector<fs::path>& candidates, int jobs) {
  impl_->Precompile(candidates, jobs);
}
Result<Comparison> Evaluator::Compare(const std::vector<fs::path>& candidates, int rounds) {
  return impl_->Compare(candidates, rounds);
}

}  // namespace kf::eval
