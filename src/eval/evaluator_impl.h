// The evaluator's insides, shared by its source files: evaluator.cc (the stages of one
// evaluation, in order), eval_trials.cc (compiling, loading, one correctness trial and its
// reference check), eval_timing.cc (timed buffer sets, the orchestrator's clock, ceilings, the
// audit) and eval_torch.cc (the PyTorch bridge: drawing inputs, the reference call, memory).
// Private to src/eval.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include "backends/backend.h"
#include "backends/cuda/launch_spec.h"
#include "eval/batch_timing.h"
#include "eval/compiler.h"
#include "eval/evaluator.h"
#include "eval/process_audit.h"
#include "eval/static_check.h"
#include "eval/worker.h"
#include "eval/worker_slot.h"
#include "task/buffers.h"
#include "task/torch_task.h"
#include "util/files.h"
#include "util/parallel.h"
#include "util/splitmix.h"

namespace kf::eval {
namespace fs = std::filesystem;
using json = nlohmann::json;
using backends::BackendKind;
using backends::Ceilings;
using task::DType;
using task::Sizes;

constexpr size_t kAlign = 64;
constexpr int kTimingRounds = 3;
constexpr size_t kMaxSets = 2048;  // enough for a 32 KiB working set to cover twice a 32 MiB cache
// Outputs up to this size are kept whole for the determinism re-run; larger ones by hash.
constexpr size_t kOutputCopyBytes = size_t{64} << 20;

inline uint64_t Mix(uint64_t x) { return SplitMix64Of(x); }

// Where each buffer of one call lives inside a buffer set.
struct Layout {
  std::vector<size_t> offset;  // inputs then outputs
  std::vector<int64_t> elements;
  std::vector<DType> dtype;
  std::vector<std::vector<int64_t>> shape;
  size_t set_bytes = 0;
};

// `reference`: the reference's types (a native task's in double; a PyTorch module's in its own,
// half precision in float).
inline Result<Layout> MakeLayout(const task::Task& t, const Sizes& sizes, bool reference,
                                 bool torch = false) {
  Layout l;
  size_t at = 0;
  for (const auto* list : {&t.inputs, &t.outputs}) {
    for (const auto& spec : *list) {
      auto shape = t.Shape(spec, sizes);
      if (!shape.ok()) return shape.status();
      int64_t n = 1;
      for (int64_t d : *shape) n *= d;
      const DType dt = !reference ? spec.dtype
                       : torch    ? (task::IsHalf(spec.dtype) ? DType::kF32 : spec.dtype)
                                  : task::ReferenceDType(spec.dtype);
      l.offset.push_back(at);
      l.elements.push_back(n);
      l.dtype.push_back(dt);
      l.shape.push_back(*shape);
      at += (static_cast<size_t>(n) * task::DTypeSize(dt) + kAlign - 1) / kAlign * kAlign;
    }
  }
  l.set_bytes = std::max<size_t>(at, kAlign);
  return l;
}

// A fast hash of a buffer (64-bit words, multiply-mix): enough to see that nobody changed it.
// Hashed in 64 MiB chunks on the host's cores, then the chunks' hashes in order.
inline uint64_t HashChunk(const unsigned char* p, size_t n) {
  uint64_t h = 0x243F6A8885A308D3ULL ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ULL;
  return h;
}

inline uint64_t HashBytes(const unsigned char* p, size_t n) {
  if (n <= kParallelChunkBytes) return HashChunk(p, n);
  std::vector<uint64_t> parts((n + kParallelChunkBytes - 1) / kParallelChunkBytes);
  ParallelChunks(parts.size(), [&](size_t c) {
    const size_t at = c * kParallelChunkBytes;
    parts[c] = HashChunk(p + at, std::min(kParallelChunkBytes, n - at));
  });
  return HashChunk(reinterpret_cast<const unsigned char*>(parts.data()),
                   parts.size() * sizeof(uint64_t));
}

struct Failure {
  Verdict verdict;
  std::string message;
  json extra = json::object();
};

// A program loaded into a worker; reloaded when the worker was replaced.
struct Loaded {
  fs::path library;
  int handle = -1;
  int generation = -1;
  // Kernel-only CUDA programs: what to launch, and the kernels' lowered names.
  bool kernel_only = false;
  std::vector<backends::cuda::LaunchSpec> launches;
  json lowered_names;
  // Programs run by the PyTorch bridge: "eager" and "compile" (the reference worker's baselines)
  // or "candidate" (a ModelNew file, `library` its source).
  std::string torch_handle;
  std::string torch_mode;  // torch.compile's mode, for "compile"
  // The slot that runs the program; null: the candidate slot.
  WorkerSlot* slot = nullptr;
};

class Evaluator::Impl {
 public:
  Impl(task::Task task, EvalOptions options);
  ~Impl() {
    stop_precompile_ = true;
    for (auto& t : precompilers_) t.join();
    native_cand_.reset();
    py_cand_.reset();
    ref_.reset();
    base_.reset();
    std::error_code ec;
    fs::remove_all(scratch_root_, ec);
  }
  Result<EvalResult> Evaluate(const fs::path& candidate);
  void Precompile(const std::vector<fs::path>& candidates, int jobs);
  Result<Comparison> Compare(const std::vector<fs::path>& candidates, int rounds);

 private:
  Result<Loaded> CompileProgram(const fs::path& source, const std::string& what);
  // Loads `program` into the slot's worker. A failure of the candidate is returned as Failure.
  Result<std::optional<Failure>> Load(WorkerSlot& slot, Loaded& program);
  Failure FromReply(const Reply& r, const std::string& stage);
  json Args(const Layout& l, size_t base) const;
  // `span` is the [offset, bytes) of the arena the call reads and writes (a GPU worker copies
  // it to the device and back).
  // An error only for a kernel-only program whose launch declarations fail at these sizes.
  Result<json> CallRequest(const Loaded& p, const Layout& l, const Sizes& sizes,
                           const std::vector<size_t>& set_bases, size_t span_begin,
                           size_t span_bytes) const;
  // One correctness trial on buffer set `set`; fills `output_copy` with the candidate's outputs.
  Result<std::optional<Failure>> Trial(Loaded& cand, const Sizes& sizes,
                                       const task::Distribution& dist, uint64_t seed, int set,
                                       int poison, const std::string& stage,
                                       std::vector<std::string>* output_copy, double* call_ns);
  // Compares a trial's outputs (candidate layout lc at arena) with the reference's (layout lr at
  // rarena).
  Result<std::optional<Failure>> CompareTrial(const Layout& lc, const Layout& lr,
                                              const unsigned char* arena,
                                              const unsigned char* rarena, const std::string& where,
                                              const task::Distribution& dist, const Sizes& sizes,
                                              const std::string& stage);
  // Appends one round of timed samples (ns) of `program` over `sets` rotating buffer sets.
  // Loads the machine's ceilings into ceilings_ (measuring them when asked or not cached).
  Status MeasureCeilings(bool remeasure);
  // One call of a correct candidate at the bench sizes in a worker run by Nsight Compute:
  // the summary, or {"error": why not}.
  json NsightSummary(const Loaded& cand, uint64_t seed);
  // One round of batches of `program` by the orchestrator's clock, every other timing worker
  // paused meanwhile.
  Result<std::optional<Failure>> Time(Loaded& program, const Layout& l, int sets, double call_ns,
                                      double seconds, BatchTiming* timing);
  // Fills the timed buffer sets (different inputs in each) in the candidate's arena and copies
  // them to the baselines' worker; puts them on the device where a worker keeps a device copy.
  Status PrepareTimedSets(const Layout& l, int sets, uint64_t seed, const Loaded& cand);
  // Copies the timed sets to the device of the program's worker (CUDA workers, bridges).
  Status Stage(Loaded& program, const Layout& l, int sets);
  // After timing: the candidate's inputs unchanged in every set, and the outputs of one secret
  // set (left by its last timed call) right against the reference.
  // `used`: the sets the timed calls reached (a slow program may not reach them all).
  Result<std::optional<Failure>> CheckTimedSets(Loaded& cand, const Layout& l, int sets,
                                                size_t used, uint64_t seed);
  // The reference on copies of `inputs` (at sizes; a PyTorch task's may already be in place in
  // the bridge's arena), compared with the candidate's outputs at `cand_base` in layout lc.
  Result<std::optional<Failure>> ReferenceCheck(const Layout& lc, const Layout& lr,
                                                const std::vector<const unsigned char*>& inputs,
                                                WorkerSlot& cand_slot, size_t cand_base,
                                                const std::string& where,
                                                const task::Distribution& dist, const Sizes& sizes,
                                                const std::string& stage);
  // One evaluation in flight: what its stages share.
  struct Evaluation {
    fs::path candidate;
    bool python = false;  // a ModelNew file
    uint64_t seed = 0;
    EvalResult res;
    std::string source;
    Loaded cand;
    double compile_wall = 0;
    std::optional<Layout> layout;  // at the bench sizes
    int sets = 0;                  // timed buffer sets
    double bench_call_ns = 0;      // the slowest checked call at the bench size
    std::vector<std::string> first_bench_output;
    uint64_t first_bench_seed = 0;
    BatchTiming cand_timing, base_timing;
    std::vector<BatchTiming> vendor_timing;
    TimeStats cand_time, base_time;
    // Wall seconds per stage, for the profile: each mark closes the stage since the last one.
    double start = 0, stage_start = 0;
    json stages = json::object();
    void Mark(const char* stage);
  };
  Result<std::optional<Failure>> CompileCandidate(Evaluation& e);
  Result<std::optional<Failure>> SetUpWorkers(Evaluation& e);
  Result<std::optional<Failure>> CheckCorrectness(Evaluation& e);
  Result<std::optional<Failure>> TimeCandidate(Evaluation& e);
  Result<std::optional<Failure>> Summarise(Evaluation& e);
  EvalResult Finish(Evaluation& e, std::optional<Failure> f);

  // The candidate's median against the roofline: its position, and `suspicious` below the floor
  // (after the ceilings are measured again, up to three times, in the clean worker).
  Result<std::pair<Roofline, std::optional<Failure>>> JudgeRoofline(double median_ms, bool python);
  void PauseAllBut(WorkerSlot* running);
  void ResumeAll();
  // The deadline of one call: --run-timeout, or 50 times the reference's call where that is
  // longer (large problems).
  double CallDeadline() const { return std::max(opt_.run_timeout_s, 50 * ref_call_s_); }
  double ref_call_s_ = 0;
  // PyTorch tasks: draws inputs at the bench sizes and runs the module once, before any
  // candidate call: its time sets the call deadline, and a module that fails at its size is
  // an error naming it.
  Status MeasureReferenceCall(const Layout& l);
  // Refuses, before anything large is allocated, a problem whose buffers (`sets` timed sets of
  // layout l) do not fit the host's available memory or the device's free memory; fills
  // `memory` with the estimates.
  Status CheckMemory(const Layout& l, int sets, bool bridge_candidate, json* memory);
  std::vector<uint64_t> timed_input_hashes_;
  // CPU candidates: the fresh worker as seen from /proc before the candidate was loaded, and the
  // check of the worker now against it (threads, libraries, executable memory).
  std::optional<ProcessSnapshot> fresh_worker_;
  std::optional<Failure> AuditCandidate(const Loaded& cand, const std::string& stage);
  // The backend's summary of a compiled program's machine code, made on a thread of its own.
  std::future<json> SummarizeCode(const fs::path& program) const {
    return std::async(std::launch::async,
                      [this, program] { return backend_.MachineCodeSummary(program); });
  }

  task::Task task_;
  const backends::Backend& backend_;  // the task's
  EvalOptions opt_;
  Compiler compiler_;
  std::vector<std::thread> precompilers_;
  std::future<json> sass_;  // the candidate's disassembly summary, CUDA only
  std::atomic<bool> stop_precompile_{false};
  fs::path scratch_root_;
  WorkerConfig cand_config_;
  WorkerConfig py_cand_config_;  // PyTorch tasks: a ModelNew candidate's bridge
  // A comparison's candidate workers, paused and resumed with the others while it runs.
  std::vector<WorkerSlot*> compare_slots_;
  // The number of timed buffer sets for layout l in a worker whose cache is `llc` bytes.
  int TimedSetCount(const Layout& l, size_t llc) const;
  // Compare's part for one candidate: compiled and loaded into its own worker, arena sized.
  Result<std::optional<Failure>> PrepareCompared(const fs::path& file, WorkerSlot& slot,
                                                 const Layout& l, int sets, Loaded* out);
  std::unique_ptr<WorkerSlot> native_cand_;
  std::unique_ptr<WorkerSlot> py_cand_;  // PyTorch tasks: ModelNew candidates, one per worker
  WorkerSlot* cand_ = nullptr;           // the slot of the candidate being judged
  std::unique_ptr<WorkerSlot> ref_;
  // A worker that never loads candidate code: it runs and times the task's own programs (the
  // initial program and vendor baselines) and measures the machine's ceilings.
  std::unique_ptr<WorkerSlot> base_;
  WorkerSlot& SlotOf(const Loaded& p) { return p.slot ? *p.slot : *cand_; }
  // PyTorch tasks: the bridge builds the module with init_seed_ once per worker generation.
  bool torch_ = false;
  uint64_t init_seed_ = 0;
  int built_generation_ = -1;
  Status EnsureBuilt();
  // Has the bridge draw get_inputs() under `seed` (and copy the parameters) into its arena at
  // the layout's input offsets from `base`.
  Status DrawTorchInputs(const Layout& l, uint64_t seed, size_t base = 0);
  // The reference layout: double precision for native tasks; a PyTorch module's own dtypes
  // (its reference runs in them: converting its outputs would only take memory), float for a
  // module in half precision (its reference runs in float).
  Result<Layout> ReferenceLayout(const Sizes& sizes) const {
    return MakeLayout(task_, sizes, true, torch_);
  }
  // The reference bridge's arena: inputs then the reference's outputs; after a whole set where
  // a baseline in that bridge left its own outputs (`shared`).
  static size_t TorchReferenceBytes(const Layout& lc, const Layout& lr, bool shared) {
    return shared ? lc.set_bytes + lr.set_bytes : std::max(lc.set_bytes, lr.set_bytes);
  }
  json TorchSpecs(const Layout& l, size_t base, bool inputs) const;
  std::optional<Loaded> reference_;
  std::optional<Loaded> initial_;
  std::vector<Loaded> vendor_;  // task_.baselines, compiled and checked on first use
  bool vendor_checked_ = false;
  // A baseline that failed (raised, timed out, was wrong) is reported as failed in every result,
  // and the candidate is judged against the others.
  std::vector<std::optional<Failure>> vendor_failed_;
  std::optional<Ceilings> ceilings_;
  json gpu_ceilings_;
  // Where the time of one evaluation went, in seconds (EvalResult::profile).
  struct Profile {
    double candidate = 0;         // round trips of correctness calls and timing of the candidate
    double candidate_timing = 0;  // the timing part of `candidate`
    double baseline = 0;          // timing the initial program
    double reference = 0;         // round trips of reference calls
    double ceilings = 0;          // measuring the machine (once per machine: cached)
  } prof_;
};

}  // namespace kf::eval
