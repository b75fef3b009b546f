// Timing: the timed buffer sets (drawn, staged, checked after), the orchestrator's clock over
// batches with every other worker paused, the machine's ceilings, and the /proc audit.
#include "eval/evaluator_impl.h"

namespace kf::eval {

Status Evaluator::Impl::MeasureCeilings(bool remeasure) {
  // Only a worker that never loaded candidate code measures the machine (rule 19).
  auto w = base_->Get();
  if (!w.ok()) return w.status();
  auto c = backend_.MeasureCeilings(
      compiler_.cache_dir(),
      [&](double timeout_s) -> Result<json> {
        Reply r = (*w)->Request({{"op", "ceilings"}}, timeout_s);
        prof_.ceilings += r.seconds;
        if (!r.ok()) return Status::Error(r.message);
        return r.body;
      },
      ceilings_, remeasure);
  if (!c.ok()) return c.status();
  ceilings_ = c->ceilings;
  if (!c->raw.is_null()) gpu_ceilings_ = c->raw;
  return Status::Ok();
}

json Evaluator::Impl::NsightSummary(const Loaded& cand, uint64_t seed) {
  // The report's path is relative to the worker's scratch directory.
  auto prefix = backend_.ProfilerPrefix("ncu.csv");
  if (!prefix.ok()) return {{"error", prefix.status().message()}};
  WorkerConfig config = cand_config_;
  config.prefix = *prefix;
  config.seccomp = false;  // the profiler's injected library talks to ncu through sockets
  config.start_timeout_s = 120;
  WorkerSlot slot(config, 2);
  Loaded program = cand;
  program.generation = -1;
  auto loaded = Load(slot, program);
  if (!loaded.ok() || *loaded) {
    return {{"error", "the program did not load under ncu: " +
                          (loaded.ok() ? (*loaded)->message : loaded.status().message())}};
  }
  Worker* w = slot.current();
  auto layout = MakeLayout(task_, task_.bench_sizes, false);
  if (!layout.ok() || !w->EnsureArena(layout->set_bytes).ok()) {
    return {{"error", "no arena for the profiled call"}};
  }
  for (size_t i = 0; i < task_.inputs.size(); ++i) {
    const auto& spec = task_.inputs[i];
    task::FillRandom(w->arena() + layout->offset[i], spec.dtype, layout->elements[i],
                     task_.InputDistribution(spec, task_.distributions[0], task_.bench_sizes),
                     Mix(seed ^ 0x6E6375ULL ^ i));
  }
  auto call = CallRequest(program, *layout, task_.bench_sizes, {0}, 0, layout->set_bytes);
  if (!call.ok()) return {{"error", call.status().message()}};
  // Each kernel is replayed once per group of counters: allow far more than a plain call.
  Reply r = w->Request(*call, 30 * opt_.run_timeout_s + 60);
  if (!r.ok()) return {{"error", "the profiled call failed: " + r.message}};
  w->Finish(120);
  const std::string report = ReadFile(w->scratch() / "ncu.csv");
  auto summary = backend_.ReadProfile(report);
  if (!summary.ok()) {
    return {
        {"error", summary.status().message() + ": " + report.substr(0, 600) + w->TakeOutput(600)}};
  }
  return *summary;
}

void Evaluator::Impl::PauseAllBut(WorkerSlot* running) {
  std::vector<WorkerSlot*> all = {native_cand_.get(), py_cand_.get(), base_.get(), ref_.get()};
  all.insert(all.end(), compare_slots_.begin(), compare_slots_.end());
  for (WorkerSlot* slot : all) {
    if (slot && slot != running && slot->current()) slot->current()->Pause();
  }
}

void Evaluator::Impl::ResumeAll() {
  std::vector<WorkerSlot*> all = {native_cand_.get(), py_cand_.get(), base_.get(), ref_.get()};
  all.insert(all.end(), compare_slots_.begin(), compare_slots_.end());
  for (WorkerSlot* slot : all) {
    if (slot && slot->current()) slot->current()->Resume();
  }
}

Status Evaluator::Impl::Stage(Loaded& program, const Layout& l, int sets) {
  WorkerSlot& slot = SlotOf(program);
  auto w = slot.Get();
  if (!w.ok()) return w.status();
  json req;
  if (!program.torch_handle.empty()) {
    return Status::Ok();  // bridges staged theirs in PrepareTimedSets
  } else if (backend_.MirrorsArena()) {
    req = {{"op", "upload"}, {"span", {0, static_cast<size_t>(sets) * l.set_bytes}}};
  } else {
    return Status::Ok();  // a CPU worker calls on the shared arena itself
  }
  Reply r = (*w)->Request(req, 30 * opt_.run_timeout_s);
  if (!r.ok()) return Status::Error("putting the timed inputs on the device: " + r.message);
  return Status::Ok();
}

Result<std::optional<Failure>> Evaluator::Impl::Time(Loaded& program, const Layout& l, int sets,
                                                     double call_ns, double seconds,
                                                     BatchTiming* timing) {
  WorkerSlot& slot = SlotOf(program);
  auto w = slot.Get();
  if (!w.ok()) return w.status();
  if (auto f = Load(slot, program); !f.ok() || *f) return f;
  w = slot.Get();
  json run;
  if (!program.torch_handle.empty()) {
    run = {{"op", "run"}, {"handle", program.torch_handle}};
  } else {
    std::vector<size_t> bases;
    for (int s = 0; s < sets; ++s) bases.push_back(static_cast<size_t>(s) * l.set_bytes);
    auto call = CallRequest(program, l, task_.bench_sizes, bases, 0, sets * l.set_bytes);
    if (!call.ok()) {
      return std::optional<Failure>(Failure{
          Verdict::kRuntimeError, call.status().message() + " (timing)", {{"stage", "timing"}}});
    }
    run = *call;
    run["op"] = "run";
    run.erase("span");
  }
  BatchTimingOptions o;
  o.sets = static_cast<size_t>(sets);
  o.seconds = seconds;
  o.target_rel_ci = opt_.target_rel_ci;
  o.min_batches = opt_.min_runs;
  // Known call time (the candidate's, from correctness): a generous multiple of it. Unknown (the
  // task's own programs): the per-call deadline.
  o.call_deadline_s = call_ns > 0 ? std::max(20 * call_ns / 1e9, 0.05) : CallDeadline();
  if (call_ns > 0) o.call_deadline_s = std::min(o.call_deadline_s, CallDeadline());
  PauseAllBut(&slot);
  const double before = timing->seconds;
  std::optional<Reply> failed = TimeRound(**w, run, o, timing);
  const bool baseline = &program == &*initial_ ||
                        (&program >= vendor_.data() && &program < vendor_.data() + vendor_.size());
  const double spent = timing->seconds - before;
  (baseline ? prof_.baseline : prof_.candidate) += spent;
  if (!baseline) prof_.candidate_timing += spent;
  if (failed) {
    if (failed->body.value("forged", false)) {
      Failure f{Verdict::kSuspicious, failed->message};
      f.extra = {{"stage", "timing"},
                 {"reported_ns", failed->body["reported_ns"]},
                 {"clocked_ns", failed->body["clocked_ns"]}};
      return std::optional<Failure>(f);
    }
    return std::optional<Failure>(FromReply(*failed, "timing"));
  }
  return std::optional<Failure>();
}

namespace {

// Distinct timed sets from drawn ones: a secret rotation of each buffer by whole elements keeps
// every value (and so the distribution and any value range the task needs) but moves it.
void RotateInto(unsigned char* dst, const unsigned char* src, size_t elements, size_t width,
                size_t by) {
  if (elements == 0) return;
  by %= elements;
  std::memcpy(dst, src + by * width, (elements - by) * width);
  std::memcpy(dst + (elements - by) * width, src, by * width);
}

}  // namespace

Status Evaluator::Impl::PrepareTimedSets(const Layout& l, int sets, uint64_t seed,
                                         const Loaded& cand) {
  WorkerSlot& cslot = SlotOf(cand);
  auto cw = cslot.Get();
  if (!cw.ok()) return cw.status();
  const size_t total = static_cast<size_t>(sets) * l.set_bytes;
  if (auto s = (*cw)->EnsureArena(cand.torch_handle.empty() ? total : l.set_bytes); !s.ok())
    return s;
  const size_t nin = task_.inputs.size();
  // The sets are drawn in the baselines' worker (the bridge draws with the module's get_inputs)
  // or here, then copied to the candidate's arena.
  unsigned char* arena = (*cw)->arena();
  if (torch_) {
    // Each set from get_inputs under its own seed (up to kDrawnSets of them, the rest copies):
    // a rotation could break structure the problem's inputs have (symmetric matrices, say).
    // One set at a time through the start of the bridges' arenas: a bridge stages it on its
    // device (the reference's for the baselines, the candidate's); a native candidate gets it
    // in its own arena.
    constexpr int kDrawnSets = 16;
    const bool bridge = !cand.torch_handle.empty();
    const int drawn = std::min(sets, kDrawnSets);
    timed_input_hashes_.clear();
    for (int d = 0; d < drawn; ++d) {
      if (auto st = DrawTorchInputs(l, Mix(seed ^ 0x7157ULL ^ (uint64_t(d) << 40)), 0); !st.ok())
        return st;
      const int repeat = (sets - d + drawn - 1) / drawn;  // the sets t with t % drawn == d
      const json stage = {{"op", "stage"},
                          {"sets",
                           {{{"inputs", TorchSpecs(l, 0, true)},
                             {"forward_inputs", task_.torch->forward_inputs},
                             {"scalars", json::parse(task_.torch->scalars)}}}},
                          {"append", d > 0},
                          {"repeat", repeat}};
      auto rw = ref_->Get();
      if (!rw.ok()) return rw.status();
      Reply r = (*rw)->Request(stage, 30 * opt_.run_timeout_s);
      if (!r.ok()) return Status::Error("putting the timed inputs on the device: " + r.message);
      const unsigned char* drawn_set = (*rw)->arena();
      cw = cslot.Get();
      if (!cw.ok()) return cw.status();
      arena = (*cw)->arena();
      if (bridge) {
        ParallelCopy(arena, drawn_set, l.set_bytes);
        Reply c = (*cw)->Request(stage, 30 * opt_.run_timeout_s);
        if (!c.ok()) {
          return Status::Error("putting the timed inputs on the candidate's device: " + c.message);
        }
        std::vector<uint64_t> hashes(nin);
        for (size_t i = 0; i < nin; ++i) {
          hashes[i] = HashBytes(drawn_set + l.offset[i],
                                static_cast<size_t>(l.elements[i]) * task::DTypeSize(l.dtype[i]));
        }
        for (int k = 0; k < repeat; ++k) {
          timed_input_hashes_.insert(timed_input_hashes_.end(), hashes.begin(), hashes.end());
        }
      } else {
        for (int t = d; t < sets; t += drawn) {
          ParallelCopy(arena + static_cast<size_t>(t) * l.set_bytes, drawn_set, l.set_bytes);
        }
      }
    }
    if (bridge) return Status::Ok();
  } else {
    for (size_t i = 0; i < nin; ++i) {
      const auto& spec = task_.inputs[i];
      task::FillRandom(arena + l.offset[i], spec.dtype, l.elements[i],
                       task_.InputDistribution(spec, task_.distributions[0], task_.bench_sizes),
                       Mix(seed ^ 0x7157ULL ^ i));
      const size_t width = task::DTypeSize(l.dtype[i]);
      for (int s = 1; s < sets; ++s) {
        RotateInto(arena + s * l.set_bytes + l.offset[i], arena + l.offset[i],
                   static_cast<size_t>(l.elements[i]), width, Mix(seed ^ (s * 7919ULL) ^ i));
      }
    }
    // The baselines' worker gets the same sets in its own arena.
    auto bw = base_->Get();
    if (!bw.ok()) return bw.status();
    if (auto s = (*bw)->EnsureArena(total); !s.ok()) return s;
    cw = cslot.Get();
    std::memcpy((*bw)->arena(), (*cw)->arena(), total);
    arena = (*cw)->arena();
  }
  timed_input_hashes_.clear();
  for (int s = 0; s < sets; ++s) {
    for (size_t i = 0; i < nin; ++i) {
      const size_t bytes = static_cast<size_t>(l.elements[i]) * task::DTypeSize(l.dtype[i]);
      timed_input_hashes_.push_back(HashBytes(arena + s * l.set_bytes + l.offset[i], bytes));
    }
  }
  return Status::Ok();
}

Result<std::optional<Failure>> Evaluator::Impl::CheckTimedSets(Loaded& cand, const Layout& l,
                                                               int sets, size_t used,
                                                               uint64_t seed) {
  WorkerSlot& slot = SlotOf(cand);
  Worker* w = slot.current();
  if (!w) return Status::Error("the candidate's worker is gone after timing");
  const bool bridge = !cand.torch_handle.empty();
  if (backend_.MirrorsArena() && !bridge) {
    Reply r =
        w->Request({{"op", "download"}, {"span", {0, static_cast<size_t>(sets) * l.set_bytes}}},
                   30 * opt_.run_timeout_s);
    if (!r.ok()) return std::optional<Failure>(FromReply(r, "reading the timed buffers"));
    w->Pause();
  }
  const size_t nin = task_.inputs.size();
  const unsigned char* arena = w->arena();
  if (bridge) {
    // Each staged set back through the start of the arena.
    for (int s = 0; s < sets; ++s) {
      Reply r = w->Request({{"op", "fetch"}, {"set", s}, {"inputs", TorchSpecs(l, 0, true)}},
                           30 * opt_.run_timeout_s);
      if (!r.ok()) return std::optional<Failure>(FromReply(r, "reading the timed buffers"));
      arena = w->arena();
      for (size_t i = 0; i < nin; ++i) {
        const size_t bytes = static_cast<size_t>(l.elements[i]) * task::DTypeSize(l.dtype[i]);
        if (HashBytes(arena + l.offset[i], bytes) != timed_input_hashes_[s * nin + i]) {
          Failure f{Verdict::kWrongAnswer, "the program modified its input '" +
                                               task_.inputs[i].name + "' in timed buffer set " +
                                               std::to_string(s) + " while it was being timed"};
          f.extra = {{"stage", "timing"}, {"input", task_.inputs[i].name}, {"set", s}};
          return std::optional<Failure>(f);
        }
      }
    }
    // A bridge keeps its timed outputs to itself.
    return std::optional<Failure>();
  }
  for (int s = 0; s < sets; ++s) {
    for (size_t i = 0; i < nin; ++i) {
      const size_t bytes = static_cast<size_t>(l.elements[i]) * task::DTypeSize(l.dtype[i]);
      if (HashBytes(arena + s * l.set_bytes + l.offset[i], bytes) !=
          timed_input_hashes_[s * nin + i]) {
        Failure f{Verdict::kWrongAnswer, "the program modified its input '" + task_.inputs[i].name +
                                             "' in timed buffer set " + std::to_string(s) +
                                             " while it was being timed"};
        f.extra = {{"stage", "timing"}, {"input", task_.inputs[i].name}, {"set", s}};
        return std::optional<Failure>(f);
      }
    }
  }
  // A native program left its timed outputs in the arena.
  if (used == 0) return std::optional<Failure>();
  const int s = static_cast<int>(Mix(seed ^ 0x5E7ULL) %
                                 std::min<uint64_t>(used, static_cast<uint64_t>(sets)));
  // The inputs stay where they are: the candidate is paused, and its inputs are checked.
  std::vector<const unsigned char*> inputs(nin);
  for (size_t i = 0; i < nin; ++i) inputs[i] = arena + s * l.set_bytes + l.offset[i];
  auto lr = ReferenceLayout(task_.bench_sizes);
  if (!lr.ok()) return lr.status();
  const std::string where = "size " + task::SizesToString(task_.bench_sizes) +
                            ", the outputs a timed call left in buffer set " + std::to_string(s);
  auto f = ReferenceCheck(l, *lr, inputs, slot, static_cast<size_t>(s) * l.set_bytes, where,
                          task_.distributions[0], task_.bench_sizes, "timed outputs");
  if (f.ok() && *f) {
    (*f)->message += " (its checked calls were right: it computes differently when timed)";
  }
  return f;
}

std::optional<Failure> Evaluator::Impl::AuditCandidate(const Loaded& cand,
                                                       const std::string& stage) {
  Worker* w = SlotOf(cand).current();
  if (!fresh_worker_ || !w) return std::nullopt;
  auto now = SnapshotGroup(w->pid());
  if (!now.ok()) return std::nullopt;  // the worker is gone: the stage that follows says why
  auto why = AuditAgainst(*fresh_worker_, *now, cand.library, task_.allows_threads);
  if (!why) return std::nullopt;
  Failure f{Verdict::kSandboxViolation,
            *why + " (seen from outside the worker after " + stage + ")"};
  f.extra = {{"stage", stage}, {"audit", *why}};
  return f;
}

}  // namespace kf::eval
