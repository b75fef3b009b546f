// Compiling and loading programs, and one correctness trial: the candidate on fresh inputs,
// its inputs checked unchanged, the reference on the same inputs, the comparison.
#include "eval/evaluator_impl.h"

namespace kf::eval {

void Evaluator::Impl::Precompile(const std::vector<fs::path>& candidates, int jobs) {
  auto next = std::make_shared<std::atomic<size_t>>(0);
  for (int j = 0; j < jobs && j < static_cast<int>(candidates.size()); ++j) {
    precompilers_.emplace_back([this, candidates, next] {
      for (size_t i = (*next)++; i < candidates.size() && !stop_precompile_; i = (*next)++) {
        if (RunStaticChecks(ReadFile(candidates[i]), task_.policy)) continue;
        (void)compiler_.Compile(candidates[i], task_.allows_threads);
      }
    });
  }
}

Result<Loaded> Evaluator::Impl::CompileProgram(const fs::path& source, const std::string& what) {
  // The reference is the task's own trusted code: it may use OpenMP whatever candidates may, so
  // a float64 reference at the bench size takes the host's cores rather than one.
  auto c = compiler_.Compile(source, task_.allows_threads || what == "reference");
  if (!c.ok()) return c.status();
  if (!c->ok) {
    return Status::Error("the task's " + what + " (" + source.string() + ") does not compile:\n" +
                         c->log);
  }
  // The reference runs in the reference worker (its slot is set where it is loaded); the task's
  // other programs in the clean baseline worker.
  return Loaded{c->library,
                -1,
                -1,
                c->kernel_only,
                c->launches,
                c->lowered_names,
                "",
                "",
                what == "reference" ? nullptr : base_.get()};
}

Failure Evaluator::Impl::FromReply(const Reply& r, const std::string& stage) {
  Failure f;
  f.extra["stage"] = stage;
  switch (r.kind) {
    case Reply::Kind::kTimeout:
      f.verdict = Verdict::kTimeout;
      f.message = "did not return within the deadline during " + stage +
                  "; the worker was killed with its process group";
      f.extra["deadline_s"] = CallDeadline();
      break;
    case Reply::Kind::kViolation:
      f.verdict = Verdict::kSandboxViolation;
      f.message = "the sandbox blocked a forbidden system call during " + stage + ": " + r.message;
      f.extra["syscall"] = r.message;
      break;
    case Reply::Kind::kDied:
      f.verdict = Verdict::kCrash;
      f.message = "the program " +
                  (r.exit.signaled ? "crashed the worker (" + r.exit.Describe() + ")"
                                   : "ended the worker (" + r.exit.Describe() + ")") +
                  " during " + stage;
      f.extra["memory_limit_bytes"] = opt_.worker_memory_bytes;
      if (r.exit.signaled) {
        f.extra["signal"] = SignalName(r.exit.signal);
      } else {
        f.extra["exit_status"] = r.exit.code;
        f.message += ": it must return from the entry point, not end the process";
      }
      break;
    default:
      f.verdict = Verdict::kRuntimeError;
      f.message = r.message + " (during " + stage + ")";
      if (r.body.contains("cuda_error")) f.extra["cuda_error"] = r.body["cuda_error"];
      break;
  }
  return f;
}

Result<std::optional<Failure>> Evaluator::Impl::Load(WorkerSlot& slot, Loaded& program) {
  auto w = slot.Get();
  if (!w.ok()) return w.status();
  if (program.generation == slot.generation()) return std::optional<Failure>();
  json req = {{"op", "load"}, {"path", program.library.string()}, {"entry", task_.entry}};
  if (!program.torch_handle.empty()) {
    if (&slot == ref_.get()) {
      if (auto s = EnsureBuilt(); !s.ok()) return s;
    }
    req = {{"op", "load"}, {"kind", program.torch_handle}, {"mode", program.torch_mode}};
    if (program.torch_handle == "candidate") {
      // The file goes into the worker's scratch directory: the sandbox hides the rest of /tmp.
      std::error_code ec;
      const fs::path copy = (*w)->scratch() / "candidate.py";
      fs::copy_file(program.library, copy, fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::Error("copying the candidate for the bridge: " + ec.message());
      req = {{"op", "load"},
             {"kind", "modelnew"},
             {"path", copy.string()},
             {"seed", init_seed_ & 0x7fffffffffffULL},
             {"init_inputs", json::parse(task_.torch->init_inputs)},
             {"sizes", task_.torch->sizes},
             {"dtype", task_.torch->dtype}};
    }
  }
  if (program.kernel_only) {
    json kernels = json::array();
    for (const auto& l : program.launches) {
      kernels.push_back(
          {{"name", l.kernel}, {"lowered", program.lowered_names.value(l.kernel, "")}});
    }
    req = {{"op", "load_cubin"},
           {"path", program.library.string()},
           {"kernels", kernels},
           {"arg_count", task_.inputs.size() + task_.outputs.size() + task_.params.size()}};
  }
  // Loading a ModelNew may compile its CUDA (load_inline); torch.compile compiles on load.
  Reply r = (*w)->Request(
      req, program.torch_handle.empty() ? CallDeadline() : std::max(CallDeadline(), 600.0));
  if (!r.ok()) {
    Failure f = FromReply(r, "load");
    if (r.kind == Reply::Kind::kError && (r.message.find("entry point") != std::string::npos ||
                                          r.body.value("compile_error", false))) {
      f.verdict = Verdict::kCompileError;
      f.message = r.message;
    }
    return std::optional<Failure>(f);
  }
  program.handle = r.body.at("handle");
  program.generation = slot.generation();
  ++slot.loads;
  return std::optional<Failure>();
}

json Evaluator::Impl::Args(const Layout& l, size_t base) const {
  json a = json::array();
  for (size_t off : l.offset) a.push_back(base + off);
  return a;
}

Result<json> Evaluator::Impl::CallRequest(const Loaded& p, const Layout& l, const Sizes& sizes,
                                          const std::vector<size_t>& set_bases, size_t span_begin,
                                          size_t span_bytes) const {
  if (!p.torch_handle.empty()) {
    json sets = json::array();
    for (size_t b : set_bases) {
      sets.push_back({{"inputs", TorchSpecs(l, b, true)},
                      {"outputs", TorchSpecs(l, b, false)},
                      {"forward_inputs", task_.torch->forward_inputs},
                      {"scalars", json::parse(task_.torch->scalars)}});
    }
    return json{{"op", "call"}, {"handle", p.torch_handle}, {"sets", sets}};
  }
  json ints = json::array();
  for (const auto& name : task_.params) ints.push_back(sizes.at(name));
  json sets = json::array();
  for (size_t b : set_bases) sets.push_back(Args(l, b));
  json req = {{"op", "call"},
              {"handle", p.handle},
              {"sets", sets},
              {"ints", ints},
              {"span", {span_begin, span_bytes}}};
  if (p.kernel_only) {
    auto launches = backends::cuda::EvaluateLaunches(p.launches, sizes);
    if (!launches.ok()) return Status::Error("launch declaration: " + launches.status().message());
    req["launches"] = *launches;
  }
  return req;
}

Result<std::optional<Failure>> Evaluator::Impl::Trial(Loaded& cand, const Sizes& sizes,
                                                      const task::Distribution& dist, uint64_t seed,
                                                      int set, int poison, const std::string& stage,
                                                      std::vector<std::string>* output_copy,
                                                      double* call_ns) {
  auto lc = MakeLayout(task_, sizes, false);
  auto lr = ReferenceLayout(sizes);
  if (!lc.ok()) return lc.status();
  if (!lr.ok()) return lr.status();
  const size_t nin = task_.inputs.size();
  const std::string where = "size " + task::SizesToString(sizes) + ", distribution " + dist.name;
  WorkerSlot& slot = SlotOf(cand);

  // Inputs drawn by the harness: here (native tasks), or by the module's get_inputs into the
  // bridge's arena (PyTorch tasks: they stay there, in place for the reference, and are not
  // copied out: they may be gigabytes).
  std::vector<std::string> originals(torch_ ? 0 : nin);
  std::vector<const unsigned char*> inputs(nin);
  if (torch_) {
    auto rw = ref_->Get();
    if (!rw.ok()) return rw.status();
    // A baseline judged in the reference's own bridge leaves its outputs where the
    // reference's would go: the reference then writes after them.
    const bool shared = &slot == ref_.get();
    if (auto s = (*rw)->EnsureArena(TorchReferenceBytes(*lc, *lr, shared)); !s.ok()) return s;
    if (auto s = DrawTorchInputs(*lc, seed); !s.ok()) return s;
  } else {
    for (size_t i = 0; i < nin; ++i) {
      const auto& spec = task_.inputs[i];
      originals[i].resize(static_cast<size_t>(lc->elements[i]) * task::DTypeSize(spec.dtype));
      task::FillRandom(originals[i].data(), spec.dtype, lc->elements[i],
                       task_.InputDistribution(spec, dist, sizes), Mix(seed ^ (i + 1)));
    }
  }

  // The candidate, on its own copy in its own process.
  auto w = slot.Get();
  if (!w.ok()) return w.status();
  if (auto f = Load(slot, cand); !f.ok() || *f) return f;
  w = slot.Get();
  const size_t base = static_cast<size_t>(set) * lc->set_bytes;
  if (auto s = (*w)->EnsureArena(base + lc->set_bytes); !s.ok()) return s;
  for (size_t i = 0; i < nin; ++i) {
    inputs[i] = torch_ ? ref_->current()->arena() + lc->offset[i]
                       : reinterpret_cast<const unsigned char*>(originals[i].data());
  }
  unsigned char* arena = (*w)->arena() + base;
  std::vector<uint64_t> input_hashes(nin);
  for (size_t i = 0; i < nin; ++i) {
    const size_t bytes = static_cast<size_t>(lc->elements[i]) * task::DTypeSize(lc->dtype[i]);
    if (arena + lc->offset[i] != inputs[i]) ParallelCopy(arena + lc->offset[i], inputs[i], bytes);
    input_hashes[i] = HashBytes(inputs[i], bytes);
  }
  for (size_t o = nin; o < lc->offset.size(); ++o) {
    task::Poison(arena + lc->offset[o], lc->dtype[o], lc->elements[o], poison);
  }
  auto call = CallRequest(cand, *lc, sizes, {base}, base, lc->set_bytes);
  if (!call.ok()) {
    Failure f{Verdict::kRuntimeError, call.status().message() + " (" + stage + ")"};
    f.extra = {{"stage", stage}, {"sizes", sizes}};
    return std::optional<Failure>(f);
  }
  Reply r = (*w)->Request(*call, CallDeadline());
  if (!r.ok()) {
    Failure f = FromReply(r, stage + " (" + where + ")");
    return std::optional<Failure>(f);
  }
  prof_.candidate += r.seconds;
  if (call_ns) *call_ns = r.body.value("ns", 0.0);
  for (size_t i = 0; i < nin; ++i) {
    const size_t bytes = static_cast<size_t>(lc->elements[i]) * task::DTypeSize(lc->dtype[i]);
    const bool same_memory = arena + lc->offset[i] == inputs[i];
    const int64_t at = same_memory ? (HashBytes(inputs[i], bytes) != input_hashes[i] ? 0 : -1)
                                   : task::FirstDifference(arena + lc->offset[i], inputs[i],
                                                           lc->dtype[i], lc->elements[i]);
    if (at >= 0) {
      Failure f{
          Verdict::kWrongAnswer,
          "the program modified its input '" + task_.inputs[i].name + "' (" +
              (same_memory ? ""
                           : "first change at " + task::IndexToString(at, lc->shape[i]) + ", ") +
              where + ")"};
      f.extra = {{"stage", stage}, {"input", task_.inputs[i].name}, {"flat_index", at}};
      return std::optional<Failure>(f);
    }
  }
  if (output_copy) {
    // Outputs up to kOutputCopyBytes are kept whole (a difference is then located); larger ones
    // by their hash only.
    output_copy->clear();
    for (size_t o = nin; o < lc->offset.size(); ++o) {
      const size_t bytes = static_cast<size_t>(lc->elements[o]) * task::DTypeSize(lc->dtype[o]);
      const auto* at = arena + lc->offset[o];
      output_copy->push_back(bytes <= kOutputCopyBytes
                                 ? std::string(reinterpret_cast<const char*>(at), bytes)
                                 : "hash:" + std::to_string(HashBytes(at, bytes)));
    }
  }

  return ReferenceCheck(*lc, *lr, inputs, slot, base, where, dist, sizes, stage);
}

Result<std::optional<Failure>> Evaluator::Impl::ReferenceCheck(
    const Layout& lc_ref, const Layout& lr_ref, const std::vector<const unsigned char*>& inputs,
    WorkerSlot& cand_slot, size_t cand_base, const std::string& where,
    const task::Distribution& dist, const Sizes& sizes, const std::string& stage) {
  const Layout* lc = &lc_ref;
  const Layout* lr = &lr_ref;
  const size_t nin = task_.inputs.size();
  // The reference, afterwards, from the inputs, in another process: a native task's in double
  // precision; a PyTorch task's is the module itself in its own precision (TF32 off).
  if (torch_) {
    // Inputs at the start of the bridge's arena (usually there already: drawn there), outputs
    // after them, or after the whole set where a baseline in this bridge left its own there.
    const bool shared = &cand_slot == ref_.get();
    auto rw = ref_->Get();
    if (!rw.ok()) return rw.status();
    if (auto s = EnsureBuilt(); !s.ok()) return s;
    rw = ref_->Get();
    if (auto s = (*rw)->EnsureArena(TorchReferenceBytes(*lc, *lr, shared)); !s.ok()) return s;
    unsigned char* rarena = (*rw)->arena();
    for (size_t i = 0; i < nin; ++i) {
      if (inputs[i] != rarena + lc->offset[i]) {
        std::memmove(rarena + lc->offset[i], inputs[i],
                     static_cast<size_t>(lc->elements[i]) * task::DTypeSize(lc->dtype[i]));
      }
    }
    const size_t out_base = shared ? lc->set_bytes : 0;
    json outs = json::array();
    for (size_t o = nin; o < lr->offset.size(); ++o) {
      outs.push_back(
          {out_base + lr->offset[o], std::string(task::DTypeName(lr->dtype[o])), lr->shape[o]});
      task::Poison(rarena + out_base + lr->offset[o], lr->dtype[o], lr->elements[o], 0);
    }
    Reply rr = (*rw)->Request({{"op", "reference"},
                               {"inputs", TorchSpecs(*lc, 0, true)},
                               {"outputs", outs},
                               {"forward_inputs", task_.torch->forward_inputs},
                               {"scalars", json::parse(task_.torch->scalars)}},
                              30 * opt_.run_timeout_s);
    prof_.reference += rr.seconds;
    if (!rr.ok()) {
      return Status::Error("the PyTorch module failed at " + where + ": " + rr.message + " " +
                           rr.body.value("traceback", "") + (*rw)->TakeOutput());
    }
    // The candidate may share the reference's worker (a baseline's check): read it afresh.
    const unsigned char* arena = cand_slot.current()->arena() + cand_base;
    auto f = CompareTrial(*lc, *lr, arena, rarena + out_base, where, dist, sizes, stage);
    // The second half is needed once per task (the baseline's check): give its memory back.
    if (shared) (*rw)->ReleaseArena(lc->set_bytes, lr->set_bytes);
    return f;
  }
  auto rw = ref_->Get();
  if (!rw.ok()) return rw.status();
  if (auto f = Load(*ref_, *reference_); !f.ok() || *f) {
    if (!f.ok()) return f.status();
    return Status::Error("the task's reference cannot be loaded: " + (*f)->message);
  }
  rw = ref_->Get();
  if (auto s = (*rw)->EnsureArena(lr->set_bytes); !s.ok()) return s;
  unsigned char* rarena = (*rw)->arena();
  for (size_t i = 0; i < nin; ++i) {
    task::ToReferenceType(inputs[i], task_.inputs[i].dtype, lr->elements[i],
                          rarena + lr->offset[i]);
  }
  for (size_t o = nin; o < lr->offset.size(); ++o) {
    task::Poison(rarena + lr->offset[o], lr->dtype[o], lr->elements[o], 0);
  }
  Reply rr = (*rw)->Request(*CallRequest(*reference_, *lr, sizes, {0}, 0, lr->set_bytes),
                            30 * opt_.run_timeout_s);
  prof_.reference += rr.seconds;
  if (!rr.ok()) {
    return Status::Error("the task's reference failed at " + where + ": " + rr.message + " " +
                         (*rw)->TakeOutput());
  }
  const unsigned char* arena = cand_slot.current()->arena() + cand_base;
  return CompareTrial(*lc, *lr, arena, rarena, where, dist, sizes, stage);
}

Result<std::optional<Failure>> Evaluator::Impl::CompareTrial(
    const Layout& lc, const Layout& lr, const unsigned char* arena, const unsigned char* rarena,
    const std::string& where, const task::Distribution& dist, const Sizes& sizes,
    const std::string& stage) {
  const size_t nin = task_.inputs.size();
  for (size_t o = nin; o < lc.offset.size(); ++o) {
    const auto& spec = task_.outputs[o - nin];
    const task::Mismatch m = task::CompareOutput(
        arena + lc.offset[o], rarena + lr.offset[o], spec.dtype, lc.elements[o],
        dist.tolerance ? *dist.tolerance : task_.ToleranceFor(spec), lr.dtype[o]);
    if (m.zeros_would_pass) {
      return Status::Error("bad task " + task_.name + ": output '" + spec.name + "' at " + where +
                           " is so small that all zeros would pass its tolerance; raise the "
                           "inputs' scale or tighten the tolerance");
    }
    if (!m.pass) {
      Failure f{Verdict::kWrongAnswer,
                "output '" + spec.name + "' is wrong at " + where + ": " + m.reason};
      f.extra = {{"stage", stage},
                 {"mismatch",
                  {{"output", spec.name},
                   {"index", task::IndexToString(m.index, lc.shape[o])},
                   {"flat_index", m.index},
                   {"got", m.got},
                   {"expected", m.expected},
                   {"abs_err", m.abs_err},
                   {"allowed", m.allowed},
                   {"rel_norm", m.rel_norm},
                   {"bad_elements", m.bad_elements},
                   {"distribution", dist.name},
                   {"sizes", sizes}}}};
      if (!std::isfinite(m.got)) f.extra["mismatch"]["got"] = std::isnan(m.got) ? "nan" : "inf";
      return std::optional<Failure>(f);
    }
  }
  return std::optional<Failure>();
}

}  // namespace kf::eval
