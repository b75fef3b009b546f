// The final comparison: several correct candidates and the task's baselines timed in the same
// alternating rounds on fresh inputs, so that a winner is chosen from timings taken side by side
// rather than from evaluations made at different moments under different loads.
#include "eval/evaluator_impl.h"

namespace kf::eval {

Result<std::optional<Failure>> Evaluator::Impl::PrepareCompared(const fs::path& file,
                                                                WorkerSlot& slot, const Layout& l,
                                                                int sets, Loaded* out) {
  const bool python = file.extension() == ".py";
  if (python && !torch_) {
    return std::optional<Failure>(Failure{Verdict::kCompileError, "a ModelNew on a native task"});
  }
  if (python) {
    *out = Loaded{};
    out->library = fs::absolute(file);
    out->torch_handle = "candidate";
  } else {
    auto compiled = compiler_.Compile(file, task_.allows_threads);  // cached by Evaluate
    if (!compiled.ok()) return compiled.status();
    if (!compiled->ok) {
      return std::optional<Failure>(Failure{Verdict::kCompileError, "it no longer compiles"});
    }
    *out = Loaded{compiled->library,
                  -1,
                  -1,
                  compiled->kernel_only,
                  compiled->launches,
                  compiled->lowered_names,
                  "",
                  "",
                  nullptr};
  }
  out->slot = &slot;
  auto w = slot.Get();
  if (!w.ok()) return w.status();
  const size_t bytes = python ? l.set_bytes : static_cast<size_t>(sets) * l.set_bytes;
  if (auto s = (*w)->EnsureArena(bytes); !s.ok()) {
    return std::optional<Failure>(Failure{Verdict::kRuntimeError, s.message()});
  }
  return Load(slot, *out);
}

Result<Comparison> Evaluator::Impl::Compare(const std::vector<fs::path>& candidates, int rounds) {
  if (!initial_) return Status::Error("a comparison needs one evaluation before it");
  Comparison out;
  out.rounds = std::max(rounds, 1);
  out.seed = opt_.seed ? Mix(*opt_.seed ^ 0xF1A1ULL) : Mix(std::random_device{}());
  auto layout = MakeLayout(task_, task_.bench_sizes, false);
  if (!layout.ok()) return layout.status();
  const Layout& l = *layout;
  auto bw = base_->Get();
  if (!bw.ok()) return bw.status();
  const int sets = TimedSetCount(l, (*bw)->hello().value("cache_bytes", size_t{32} << 20));

  // Each candidate in a fresh worker of its own (rule 21), all of them alive for the rounds.
  const size_t n = candidates.size();
  std::vector<std::unique_ptr<WorkerSlot>> slots;
  std::vector<Loaded> programs(n);
  std::vector<std::optional<Failure>> failed(n);
  for (size_t i = 0; i < n; ++i) {
    const bool python = candidates[i].extension() == ".py" && torch_;
    slots.push_back(std::make_unique<WorkerSlot>(python ? py_cand_config_ : cand_config_,
                                                 static_cast<int>(10 + i)));
    compare_slots_.push_back(slots.back().get());
  }
  struct Cleanup {
    Impl* impl;
    ~Cleanup() {
      impl->ResumeAll();
      impl->compare_slots_.clear();
    }
  } cleanup{this};
  for (size_t i = 0; i < n; ++i) {
    auto f = PrepareCompared(candidates[i], *slots[i], l, sets, &programs[i]);
    if (!f.ok()) return f.status();
    failed[i] = *f;
  }
  // The same fresh inputs in every worker (drawn once per candidate from the same seed).
  for (size_t i = 0; i < n; ++i) {
    if (failed[i]) continue;
    if (auto s = PrepareTimedSets(l, sets, out.seed, programs[i]); !s.ok()) return s;
    if (auto s = Stage(programs[i], l, sets); !s.ok()) return s;
  }
  if (auto s = Stage(*initial_, l, sets); !s.ok()) return s;
  for (auto& v : vendor_) {
    if (&SlotOf(v) != &SlotOf(*initial_)) {
      if (auto s = Stage(v, l, sets); !s.ok()) return s;
    }
  }

  std::vector<BatchTiming> timing(n), vendor_timing(vendor_.size());
  BatchTiming base_timing;
  // Each program gets --timing-seconds in all, spread over the rounds.
  const double round_seconds = opt_.timing_seconds / out.rounds;
  for (int round = 0; round < out.rounds; ++round) {
    for (size_t i = 0; i < n; ++i) {
      if (failed[i]) continue;
      auto f = Time(programs[i], l, sets, 0, round_seconds, &timing[i]);
      if (!f.ok()) return f.status();
      if (*f) failed[i] = **f;
    }
    auto f = Time(*initial_, l, sets, 0, round_seconds, &base_timing);
    if (!f.ok()) return f.status();
    if (*f) return Status::Error("the baseline failed in the final comparison: " + (*f)->message);
    for (size_t b = 0; b < vendor_.size(); ++b) {
      if (vendor_failed_.size() > b && vendor_failed_[b]) continue;
      auto v = Time(vendor_[b], l, sets, 0, round_seconds, &vendor_timing[b]);
      if (!v.ok()) return v.status();
      if (*v) {
        vendor_failed_.resize(vendor_.size());
        vendor_failed_[b] = **v;
      }
    }
  }
  // Every candidate paused while its timed sets are checked.
  PauseAllBut(nullptr);
  for (size_t i = 0; i < n; ++i) {
    if (failed[i]) continue;
    auto f = CheckTimedSets(programs[i], l, sets, timing[i].calls, out.seed);
    if (!f.ok()) return f.status();
    if (*f) failed[i] = **f;
  }
  for (size_t i = 0; i < n; ++i) {
    ComparedProgram p;
    p.name = candidates[i].string();
    if (failed[i]) {
      p.failure = std::string(VerdictName(failed[i]->verdict)) + ": " + failed[i]->message;
    } else {
      p.time = SummariseSamples(timing[i].samples_ns);
    }
    out.programs.push_back(p);
  }
  out.programs.push_back({torch_ ? "PyTorch eager" : "initial program", true,
                          SummariseSamples(base_timing.samples_ns), ""});
  for (size_t b = 0; b < vendor_.size(); ++b) {
    ComparedProgram p{task_.baselines[b].name, true, std::nullopt, ""};
    if (vendor_failed_.size() > b && vendor_failed_[b]) {
      p.failure = vendor_failed_[b]->message;
    } else {
      p.time = SummariseSamples(vendor_timing[b].samples_ns);
    }
    out.programs.push_back(p);
  }
  return out;
}

}  // namespace kf::eval
