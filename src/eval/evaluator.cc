// The evaluator: one evaluation's stages in order (docs/architecture.md); the parts live in
// eval_trials.cc, eval_timing.cc and eval_torch.cc (evaluator_impl.h).
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
      opt_(std::move(options)),
      compiler_(opt_.cache_dir.empty() ? DefaultCacheDir() : opt_.cache_dir,
                opt_.compile_timeout_s) {
  const bool cuda = task_.backend == "cuda";
  if (opt_.worker_binary.empty()) {
    opt_.worker_binary = SelfDir() / (cuda ? "kforge-cuda-worker" : "kforge-cpu-worker");
  }
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
  ref_config.binary = opt_.worker_binary.parent_path() / "kforge-cpu-worker";
  // The task's rule on threads, enforced by the filter of the workers that run its programs (the
  // reference, trusted, may use every core).
  if (!cuda) wc.threads = task_.allows_threads;
  if (cuda) {
    // The GPU driver maps the whole device's address range: an address-space limit cannot hold.
    wc.limits.address_space_bytes = 0;
    wc.devices = GpuDeviceNodes();
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
    const std::string device = cuda ? "cuda:" + std::to_string(opt_.device) : "cpu";
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
    if (cuda) {
      bridge.devices = GpuDeviceNodes();
      if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) {
        bridge.env.push_back(std::string("CUDA_VISIBLE_DEVICES=") + v);
      }
    }
    WorkerConfig py_cand = bridge;
    py_cand.args.insert(py_cand.args.end(), {"--role", "candidate"});
    py_cand_ = std::make_unique<WorkerSlot>(py_cand, 2);
    bridge.args.insert(bridge.args.end(), {"--role", "reference"});
    bridge.seccomp = false;
    bridge.limits.file_size_bytes = 0;  // Inductor's precompiled headers are large
    bridge.limits.open_files = 4096;
    ref_ = std::make_unique<WorkerSlot>(bridge, 1);
    return;
  }
  ref_ = std::make_unique<WorkerSlot>(ref_config, 1);
}

Result<EvalResult> Evaluator::Impl::Evaluate(const fs::path& candidate) {
  const double start = MonotonicSeconds();
  // A ModelNew file (PyTorch tasks) runs in a bridge worker of its own; the rest natively.
  const bool python = candidate.extension() == ".py";
  cand_ = python && torch_ ? py_cand_.get() : native_cand_.get();
  // A candidate's worker is fresh (rule 21): retired after the last candidate, and prestarted
  // meanwhile; one that has run anything since (a baseline check) is retired now.
  if (cand_->loads > 0) cand_->Retire();
  // A PyTorch task's reference bridge starts beside the candidate's (each a torch import).
  if (torch_ && !ref_->current()) ref_->RetireAndPrestart();

  EvalResult res;
  res.task = task_.name;
  res.candidate = candidate.string();
  std::error_code ec;
  if (!fs::is_regular_file(candidate, ec))
    return Status::Error(candidate.string() + ": no such file");
  uint64_t seed = opt_.seed.value_or(0);
  if (!opt_.seed) {
    std::random_device rd;
    seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  res.seed = seed;
  double compile_wall = 0;
  prof_ = Profile();
  // Wall seconds per stage, for the profile: each mark closes the stage since the last one.
  json stages = json::object();
  double stage_start = start;
  auto mark = [&](const char* stage) {
    const double now = MonotonicSeconds();
    stages[stage] = stages.value(stage, 0.0) + (now - stage_start);
    stage_start = now;
  };
  native_cand_->start_seconds = ref_->start_seconds = 0;
  if (py_cand_) py_cand_->start_seconds = 0;
  auto finish = [&](std::optional<Failure> f) -> Result<EvalResult> {
    if (f) {
      res.verdict = f->verdict;
      res.detail = f->extra;
      res.detail["message"] = f->message;
    }
    if (sass_.valid()) {
      if (json sass = sass_.get(); !sass.is_null()) res.detail["sass"] = sass;
    }
    if (Worker* w = cand_->current()) {
      std::string out = w->TakeOutput();
      if (!out.empty()) res.detail["output"] = out;
    }
    if (res.sandbox.empty()) {
      res.sandbox = "none";
      res.detail["sandbox_note"] = "the program never ran";
    }
    if (Worker* w = cand_->current(); w && w->hello().contains("device")) {
      res.detail["device"] = w->hello()["device"];
      if (!gpu_ceilings_.is_null()) res.detail["device"]["ceilings"] = gpu_ceilings_;
    }
    // Every candidate gets a fresh worker (rule 21): nothing this one changed (FP control state,
    // signal handlers, timers, patched library slots, threads) reaches the next, or a baseline.
    // The next one starts now, while the caller prepares its next candidate.
    if (opt_.prestart) {
      cand_->RetireAndPrestart();
    } else {
      cand_->Retire();
    }
    if (torch_) res.baseline_name = "PyTorch eager";
    res.eval_seconds = MonotonicSeconds() - start;
    if (!res.detail.contains("message")) res.detail["message"] = "correct";
    const double workers = native_cand_->start_seconds + ref_->start_seconds +
                           (py_cand_ ? py_cand_->start_seconds : 0);
    res.profile = {{"total_s", res.eval_seconds},  {"compile_s", compile_wall},
                   {"worker_start_s", workers},    {"candidate_s", prof_.candidate},
                   {"baseline_s", prof_.baseline}, {"reference_s", prof_.reference},
                   {"ceilings_s", prof_.ceilings}, {"candidate_timing_s", prof_.candidate_timing}};
    mark("finish");
    res.profile["stages_s"] = stages;
    res.profile["harness_s"] = res.eval_seconds - compile_wall - workers - prof_.candidate -
                               prof_.baseline - prof_.reference - prof_.ceilings;
    return res;
  };

  // Static checks, before paying for a compile.
  const std::string source = ReadFile(candidate);
  if (python && !torch_) {
    return finish(Failure{Verdict::kCompileError,
                          "a Python candidate (ModelNew) is for PyTorch tasks; task " + task_.name +
                              " takes " + (task_.backend == "cuda" ? "CUDA" : "C or C++")});
  }
  if (auto v = python ? RunPythonStaticChecks(source) : RunStaticChecks(source, task_.policy)) {
    Failure f{Verdict::kStaticViolation,
              "line " + std::to_string(v->line) + " uses '" + v->identifier + "' (rule '" +
                  v->rule + "', forbidden " +
                  std::string(python ? "in ModelNew candidates" : "by the task's policy") +
                  "): " + v->text};
    f.extra["static"] = {
        {"rule", v->rule}, {"identifier", v->identifier}, {"line", v->line}, {"text", v->text}};
    return finish(f);
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
  Loaded cand;
  if (torch_ && python) {
    cand.library = fs::absolute(candidate);
    cand.torch_handle = "candidate";
    cand.slot = py_cand_.get();
  } else {
    auto cand_job = std::async(std::launch::async,
                               [&] { return compiler_.Compile(candidate, task_.allows_threads); });
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
    compile_wall = MonotonicSeconds() - compile_start;
    if (!compiled.ok()) return compiled.status();
    res.compile_seconds = compiled->seconds;
    if (!compiled->ok && !compiled->include_violation.empty()) {
      // An include of a host file (rule 22: includes checked after preprocessing).
      Failure f{Verdict::kStaticViolation, "the program includes '" + compiled->include_violation +
                                               "', a file outside the system and toolkit headers"};
      f.extra["static"] = {{"rule", "include"}, {"identifier", compiled->include_violation}};
      return finish(f);
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
        log.replace(at, ext_end - at, candidate.filename().string());
      }
      f.extra = {{"compiler_log", log}, {"command", compiled->command}};
      if (!compiled->resources.is_null()) f.extra["resources"] = compiled->resources;
      return finish(f);
    }
    if (compiled->kernel_only) {
      if (task_.backend != "cuda") {
        return finish(Failure{Verdict::kCompileError,
                              "launch declarations (kforge-launch) are for CUDA tasks; task " +
                                  task_.name + " is a " + task_.backend + " task"});
      }
      if (auto specs = ParseLaunchSpecs(source, task_.params); !specs.ok()) {
        Failure f{Verdict::kCompileError, specs.status().message()};
        f.extra = {{"command", compiled->command}};
        return finish(f);
      }
    }
    if (task_.backend == "cuda" && !python) {
      // The disassembly summary is feedback, not judgement: it runs beside the trials.
      sass_ =
          std::async(std::launch::async, [lib = compiled->library] { return SassSummary(lib); });
    }
    cand = Loaded{compiled->library,
                  -1,
                  -1,
                  compiled->kernel_only,
                  compiled->launches,
                  compiled->lowered_names,
                  "",
                  "",
                  nullptr};
    if (!compiled->resources.is_null()) res.detail["resources"] = compiled->resources;
  }

  mark("compile");
  auto w = cand_->Get();
  if (!w.ok()) return w.status();
  res.sandbox = (*w)->sandbox();
  if (!(*w)->sandbox_note().empty()) res.detail["sandbox_note"] = (*w)->sandbox_note();
  if (!ceilings_) {
    auto c = MeasureCeilings(false);
    if (!c.ok()) return c;
  }
  // Timing will rotate over enough buffer sets that each call starts with a cold last-level
  // cache. Every worker's buffers are sized now, before the candidate is loaded: memory the
  // candidate then takes (device memory it holds on to) cannot make kforge itself fail.
  auto layout = MakeLayout(task_, task_.bench_sizes, false);
  if (!layout.ok()) return layout.status();
  // The cache to defeat is the worker's: the CPU's last level, or the GPU's L2.
  const size_t llc = (*w)->hello().value("cache_bytes", size_t{32} << 20);
  // What one call brings in from memory: a native program's whole set; for a PyTorch task, the
  // forward inputs alone (the bridges rotate those; outputs are torch's own allocations, which
  // its caching allocator hands back warm).
  size_t rotated = layout->set_bytes;
  if (torch_) {
    rotated = 0;
    for (size_t i = 0; i < task_.torch->forward_inputs; ++i) {
      rotated += static_cast<size_t>(layout->elements[i]) * task::DTypeSize(layout->dtype[i]);
    }
    rotated = std::max<size_t>(rotated, 1);
  }
  int sets = static_cast<int>(std::clamp<size_t>((2 * llc + rotated - 1) / rotated, 2, kMaxSets));
  while (sets > 2 && static_cast<size_t>(sets) * layout->set_bytes > (2ull << 30)) --sets;
  json memory;
  if (auto s = CheckMemory(*layout, sets, !cand.torch_handle.empty(), &memory); !s.ok()) return s;
  res.detail["memory"] = memory;
  if (torch_ && ref_call_s_ == 0) {
    if (auto s = MeasureReferenceCall(*layout); !s.ok()) return s;
  }
  {
    // A bridge keeps its timed sets on its device (they pass through the start of its arena one
    // at a time); a native worker keeps them all in its arena. A PyTorch task's bridge needs one
    // set, two for checking a baseline of its own.
    const size_t total = static_cast<size_t>(sets) * layout->set_bytes;
    auto lr = ReferenceLayout(task_.bench_sizes);
    if (!lr.ok()) return lr.status();
    if (auto s = (*w)->EnsureArena(cand.torch_handle.empty() ? total : layout->set_bytes); !s.ok())
      return s;
    WorkerSlot& baselines = torch_ ? *ref_ : *base_;
    auto bw = baselines.Get();
    if (!bw.ok()) return bw.status();
    if (auto s = (*bw)->EnsureArena(torch_ ? TorchReferenceBytes(*layout, *lr, true)
                                           : std::max(total, layout->set_bytes + lr->set_bytes));
        !s.ok())
      return s;
    w = cand_->Get();
  }
  mark("arenas");
  fresh_worker_.reset();
  if (task_.backend == "cpu" && cand.torch_handle.empty()) {
    if (auto snap = SnapshotGroup((*w)->pid()); snap.ok()) fresh_worker_ = *snap;
  }
  if (auto f = Load(*cand_, cand); !f.ok() || *f) {
    if (!f.ok()) return f.status();
    return finish(*f);
  }

  mark("load");
  // A wrong baseline would make every speedup against it meaningless: check each once.
  const std::vector<Sizes> baseline_sizes =
      torch_ ? std::vector<Sizes>{task_.bench_sizes} : task_.check_sizes;
  vendor_failed_.resize(vendor_.size());
  for (size_t b = 0; b < vendor_.size() && !vendor_checked_; ++b) {
    for (size_t i = 0; i < baseline_sizes.size(); ++i) {
      auto f = Trial(vendor_[b], baseline_sizes[i], task_.distributions[0],
                     Mix(seed ^ (0xBA5EULL + i)), 0, 0, "baseline check", nullptr, nullptr);
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
  mark("baseline_check");
  double bench_call_ns = 0;
  std::vector<std::string> first_bench_output;
  uint64_t first_bench_seed = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const bool first_bench = plan[i].sizes == task_.bench_sizes && first_bench_output.empty();
    const uint64_t trial_seed = Mix(seed + 1000003 * (i + 1));
    double ns = 0;
    auto f = Trial(cand, plan[i].sizes, task_.distributions[plan[i].dist], trial_seed, 0,
                   static_cast<int>(i % 2), "correctness",
                   first_bench ? &first_bench_output : nullptr, &ns);
    if (!f.ok()) return f.status();
    if (*f) return finish(*f);
    if (first_bench) first_bench_seed = trial_seed;
    if (plan[i].sizes == task_.bench_sizes) bench_call_ns = std::max(bench_call_ns, ns);
  }

  mark("correctness");
  if (auto f = AuditCandidate(cand, "correctness")) return finish(*f);
  mark("audit");

  // Determinism: the first bench trial again, same inputs, other poison.
  {
    std::vector<std::string> again;
    auto f = Trial(cand, task_.bench_sizes, task_.distributions[0], first_bench_seed, 0, 1,
                   "determinism re-run", &again, nullptr);
    if (!f.ok()) return f.status();
    if (*f) return finish(*f);
    for (size_t o = 0; o < again.size() && task_.exact_determinism; ++o) {
      const auto& spec = task_.outputs[o];
      const bool whole = again[o].rfind("hash:", 0) != 0;
      const int64_t n = static_cast<int64_t>(again[o].size() / task::DTypeSize(spec.dtype));
      const int64_t at = whole ? task::FirstDifference(again[o].data(),
                                                       first_bench_output[o].data(), spec.dtype, n)
                               : (again[o] != first_bench_output[o] ? 0 : -1);
      if (at >= 0) {
        auto shape = task_.Shape(spec, task_.bench_sizes);
        Failure nd{Verdict::kWrongAnswer,
                   "non-deterministic: two runs on the same inputs differ in output '" + spec.name +
                       "'" + (whole ? " at " + task::IndexToString(at, *shape) : "") +
                       " (a race, uninitialised memory or state kept between calls)"};
        nd.extra = {{"stage", "determinism re-run"}, {"output", spec.name}, {"flat_index", at}};
        return finish(nd);
      }
    }
  }

  mark("determinism");
  if (auto s = PrepareTimedSets(*layout, sets, seed, cand); !s.ok()) return s;
  mark("prepare_sets");
  if (auto s = Stage(cand, *layout, sets); !s.ok()) return s;
  if (auto s = Stage(*initial_, *layout, sets); !s.ok()) return s;
  for (auto& v : vendor_) {
    if (&SlotOf(v) != &SlotOf(*initial_)) {
      if (auto s = Stage(v, *layout, sets); !s.ok()) return s;
    }
  }
  mark("stage_sets");
  // Candidate and baselines alternate in rounds, so drift in the machine's speed hits all; each
  // is timed by this process's clock while the others' workers are paused.
  BatchTiming cand_timing, base_timing;
  std::vector<BatchTiming> vendor_timing(vendor_.size());
  const double round_seconds = opt_.timing_seconds / kTimingRounds;
  for (int round = 0; round < kTimingRounds; ++round) {
    if (auto f = Time(cand, *layout, sets, bench_call_ns, round_seconds, &cand_timing);
        !f.ok() || *f) {
      ResumeAll();
      if (!f.ok()) return f.status();
      return finish(*f);
    }
    if (auto f = Time(*initial_, *layout, sets, 0, round_seconds, &base_timing); !f.ok() || *f) {
      ResumeAll();
      if (!f.ok()) return f.status();
      return Status::Error("the task's initial program failed while timing the baseline: " +
                           (*f)->message);
    }
    for (size_t b = 0; b < vendor_.size(); ++b) {
      if (vendor_failed_[b]) continue;
      auto f = Time(vendor_[b], *layout, sets, 0, round_seconds, &vendor_timing[b]);
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
  mark("timing");
  PauseAllBut(nullptr);
  if (auto f = AuditCandidate(cand, "timing")) {
    ResumeAll();
    return finish(*f);
  }
  if (auto f = CheckTimedSets(cand, *layout, sets, cand_timing.calls, seed); !f.ok() || *f) {
    ResumeAll();
    if (!f.ok()) return f.status();
    return finish(*f);
  }
  ResumeAll();
  mark("check_sets");
  const TimeStats cand_time = SummariseSamples(cand_timing.samples_ns);
  const TimeStats base_time = SummariseSamples(base_timing.samples_ns);
  res.time = cand_time;
  res.baseline = base_time;
  res.speedup = base_time.median_ms / std::max(cand_time.median_ms, 1e-9);
  res.speedup_ci = SpeedupInterval(base_time, cand_time);
  res.detail["timing"] = {{"clock", "orchestrator"},
                          {"calls_per_batch", cand_timing.calls_per_batch},
                          {"baseline_calls_per_batch", base_timing.calls_per_batch},
                          {"sets", sets}};
  for (size_t b = 0; b < vendor_.size(); ++b) {
    if (const auto& failed = vendor_failed_[b]) {
      res.baselines.push_back({{"name", task_.baselines[b].name},
                               {"program", task_.baselines[b].program.filename().string()},
                               {"verdict", VerdictName(failed->verdict)},
                               {"message", failed->message},
                               {"time_ms", json::object()}});
      continue;
    }
    const TimeStats t = SummariseSamples(vendor_timing[b].samples_ns);
    const auto ci = SpeedupInterval(t, cand_time);
    res.baselines.push_back({{"name", task_.baselines[b].name},
                             {"program", task_.baselines[b].program.filename().string()},
                             {"time_ms", StatsJson(t)},
                             {"speedup", t.median_ms / std::max(cand_time.median_ms, 1e-9)},
                             {"speedup_ci", {ci.first, ci.second}},
                             {"significant", ci.first > EvalResult::kSignificantRatio ||
                                                 ci.second < 1 / EvalResult::kSignificantRatio}});
  }

  mark("summary");
  // Re-check on fresh inputs, in a buffer set the timed calls used.
  {
    const size_t d = task_.distributions.size() > 1 ? 1 : 0;
    auto f = Trial(cand, task_.bench_sizes, task_.distributions[d], Mix(seed ^ 0xC0FFEEULL),
                   sets - 1, 1, "re-check after timing", nullptr, nullptr);
    if (!f.ok()) return f.status();
    if (*f) {
      (*f)->message += " (it passed before timing: it computes differently when it is not checked)";
      return finish(*f);
    }
  }

  mark("recheck");
  // Roofline.
  Roofline roof;
  auto flops = task_.Flops(task_.bench_sizes);
  auto bytes = task_.Bytes(task_.bench_sizes);
  if (!flops.ok()) return flops.status();
  if (!bytes.ok()) return bytes.status();
  roof.flops = *flops;
  roof.bytes = *bytes;
  const double seconds = cand_time.median_ms / 1e3;
  roof.achieved_gbps = roof.bytes / seconds / 1e9;
  roof.achieved_gflops = roof.flops / seconds / 1e9;
  // The floor uses the fastest arithmetic the device has (tensor cores on a GPU), so no honest
  // time falls under it; the fraction a user reads is against the task's own precision. Task
  // buffers are f32, f64 or integers, so that is SGEMM's rate, not bf16 tensor cores'.
  auto place = [&] {
    // A ModelNew runs torch, which uses every core; a native program one unless allowed more.
    const double units = task_.allows_threads || python ? ceilings_->cores : 1;
    const double best_gflops = ceilings_->gflops_per_unit * units;
    // Half precision runs on the tensor cores: its limit is the best matrix rate.
    bool half = false;
    for (const auto& t : task_.outputs) half = half || task::IsHalf(t.dtype);
    roof.peak_gflops = ceilings_->fp32_gflops > 0 && !half ? ceilings_->fp32_gflops : best_gflops;
    // The CPU's copy ceiling is one core's: several cores may stream more, so the floor allows
    // each of them that much (an upper bound; the margin belongs below the floor), and the
    // fraction a user reads is of that. A GPU's copy ceiling is already the whole device's.
    const double best_gbps = ceilings_->copy_gbps * (task_.backend == "cpu" ? units : 1);
    roof.peak_gbps = best_gbps;
    const double floor_s =
        std::max(roof.bytes / (best_gbps * 1e9), roof.flops / (best_gflops * 1e9));
    roof.floor_ms = floor_s * 1e3 * opt_.floor_margin;
    roof.fraction =
        std::max(roof.bytes / (roof.peak_gbps * 1e9), roof.flops / (roof.peak_gflops * 1e9)) /
        seconds;
  };
  place();
  for (int again = 0; again < 3 && cand_time.median_ms < roof.floor_ms; ++again) {
    // Before calling it impossible, make sure the ceilings were not measured on a busy machine
    // (again in the clean worker: a candidate's worker never measures them). The best of the
    // measurements is kept: an honest program near the machine's limit is not judged by one
    // unlucky probe.
    if (auto s = MeasureCeilings(true); !s.ok()) return s;
    place();
  }
  res.roofline = roof;
  if (cand_time.median_ms < roof.floor_ms) {
    Failure f{Verdict::kSuspicious,
              "the median time " + std::to_string(cand_time.median_ms) +
                  " ms is below the roofline floor " + std::to_string(roof.floor_ms) +
                  " ms (bytes over measured bandwidth, flops over measured peak, with margin " +
                  std::to_string(opt_.floor_margin) +
                  "): it cannot have done the work it claims in that time"};
    f.extra = {{"stage", "roofline"}, {"floor_ms", roof.floor_ms}};
    return finish(f);
  }
  if (opt_.ncu && task_.backend == "cuda" && !python) res.detail["ncu"] = NsightSummary(cand, seed);
  return finish(std::nullopt);
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

}  // namespace kf::eval
