#include "eval/evaluator.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include "eval/batch_timing.h"
#include "eval/compiler.h"
#include "eval/machine.h"
#include "eval/nsight.h"
#include "eval/process_audit.h"
#include "eval/static_check.h"
#include "eval/worker.h"
#include "eval/worker_slot.h"
#include "task/buffers.h"
#include "task/torch_task.h"
#include "util/files.h"
#include "util/parallel.h"

namespace kf::eval {
namespace fs = std::filesystem;
using json = nlohmann::json;
using task::DType;
using task::Sizes;

namespace {

constexpr size_t kAlign = 64;
constexpr int kTimingRounds = 3;
constexpr size_t kMaxSets = 2048;
constexpr size_t kOutputCopyBytes =
    size_t{64} << 20;  // enough for a 32 KiB working set to cover twice a 32 MiB cache

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

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
Result<Layout> MakeLayout(const task::Task& t, const Sizes& sizes, bool reference,
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
uint64_t HashChunk(const unsigned char* p, size_t n) {
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

uint64_t HashBytes(const unsigned char* p, size_t n) {
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

fs::path SelfDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// A program loaded into a worker; reloaded when the worker was replaced.
struct Loaded {
  fs::path library;
  int handle = -1;
  int generation = -1;
  // Kernel-only CUDA programs: what to launch, and the kernels' lowered names.
  bool kernel_only = false;
  std::vector<LaunchSpec> launches;
  json lowered_names;
  // Programs run by the PyTorch bridge: "eager" and "compile" (the reference worker's baselines)
  // or "candidate" (a ModelNew file, `library` its source).
  std::string torch_handle;
  std::string torch_mode;  // torch.compile's mode, for "compile"
  // The slot that runs the program; null: the candidate slot.
  WorkerSlot* slot = nullptr;
};

}  // namespace

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

  task::Task task_;
  EvalOptions opt_;
  Compiler compiler_;
  std::vector<std::thread> precompilers_;
  std::future<json> sass_;  // the candidate's disassembly summary, CUDA only
  std::atomic<bool> stop_precompile_{false};
  fs::path scratch_root_;
  WorkerConfig cand_config_;
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

Status Evaluator::Impl::EnsureBuilt() {
  auto w = ref_->Get();
  if (!w.ok()) return w.status();
  if (built_generation_ == ref_->generation()) return Status::Ok();
  Reply r = (*w)->Request({{"op", "build"},
                           {"module", task_.torch->file.string()},
                           {"seed", init_seed_ & 0x7fffffffffffULL},
                           {"init_inputs", json::parse(task_.torch->init_inputs)},
                           {"sizes", task_.torch->sizes},
                           {"dtype", task_.torch->dtype}},
                          120 + 10 * opt_.run_timeout_s);
  prof_.reference += r.seconds;
  if (!r.ok()) {
    return Status::Error("the PyTorch module " + task_.torch->file.string() +
                         " cannot be built by the bridge: " + r.message + " " +
                         r.body.value("traceback", "") + (*w)->TakeOutput());
  }
  built_generation_ = ref_->generation();
  return Status::Ok();
}

json Evaluator::Impl::TorchSpecs(const Layout& l, size_t base, bool inputs) const {
  json out = json::array();
  const size_t nin = task_.inputs.size();
  const size_t from = inputs ? 0 : nin, to = inputs ? nin : l.offset.size();
  for (size_t i = from; i < to; ++i) {
    out.push_back({base + l.offset[i], std::string(task::DTypeName(l.dtype[i])), l.shape[i]});
  }
  return out;
}

Status Evaluator::Impl::DrawTorchInputs(const Layout& l, uint64_t seed, size_t base) {
  if (auto s = EnsureBuilt(); !s.ok()) return s;
  auto w = ref_->Get();
  if (!w.ok()) return w.status();
  if (auto s = (*w)->EnsureArena(base + l.set_bytes); !s.ok()) return s;
  Reply r = (*w)->Request({{"op", "inputs"},
                           {"seed", seed & 0x7fffffffffffULL},
                           {"tensors", TorchSpecs(l, base, true)}},
                          30 * opt_.run_timeout_s);
  prof_.reference += r.seconds;
  if (!r.ok()) {
    return Status::Error("the PyTorch module's get_inputs failed: " + r.message + " " +
                         (*w)->TakeOutput());
  }
  return Status::Ok();
}

Status Evaluator::Impl::MeasureReferenceCall(const Layout& l) {
  auto rw = ref_->Get();
  if (!rw.ok()) return rw.status();
  if (auto s = (*rw)->EnsureArena(2 * l.set_bytes); !s.ok()) return s;
  if (auto s = DrawTorchInputs(l, Mix(init_seed_ ^ 0x4EFULL)); !s.ok()) return s;
  const size_t nin = task_.inputs.size();
  json outs = json::array();
  for (size_t o = nin; o < l.offset.size(); ++o) {
    outs.push_back({l.offset[o], std::string(task::DTypeName(l.dtype[o])), l.shape[o]});
  }
  Reply r = (*rw)->Request({{"op", "reference"},
                            {"inputs", TorchSpecs(l, 0, true)},
                            {"outputs", outs},
                            {"forward_inputs", task_.torch->forward_inputs}},
                           30 * opt_.run_timeout_s);
  prof_.reference += r.seconds;
  if (!r.ok()) {
    return Status::Error("the PyTorch module " + task_.torch->file.filename().string() +
                         " fails at its sizes " + task::SizesToString(task_.bench_sizes) + ": " +
                         r.message + " " + r.body.value("traceback", "") + (*rw)->TakeOutput());
  }
  // The first call includes the module's warm-up (kernels loaded, workspaces made): an upper
  // bound of a call, as a deadline wants.
  ref_call_s_ = std::max(ref_call_s_, r.seconds);
  return Status::Ok();
}

namespace {

double MemAvailableBytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

std::string GiB(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f GiB", bytes / (1ull << 30));
  return buf;
}

}  // namespace

Status Evaluator::Impl::CheckMemory(const Layout& l, int sets, bool bridge_candidate,
                                    json* memory) {
  const size_t nin = task_.inputs.size();
  double in_bytes = 0, out_bytes = 0;
  for (size_t i = 0; i < l.offset.size(); ++i) {
    (i < nin ? in_bytes : out_bytes) += double(l.elements[i]) * task::DTypeSize(l.dtype[i]);
  }
  const double set = double(l.set_bytes);
  // Host: the candidate's arena (every timed set for a native worker, one for a bridge) and
  // the reference's (one set, or all of them for a native task's baselines), plus what the
  // workers themselves take (a torch bridge about 1 GiB each).
  const double host = (bridge_candidate ? set : sets * set) +
                      (torch_ ? set + out_bytes : std::max(sets * set, 2 * set)) +
                      (torch_ ? 2.0 : 0.5) * (1ull << 30);
  // Device (PyTorch tasks on a GPU): each bridge holds its staged sets, one more set of inputs
  // and outputs for a checked call, and the reference its result.
  double device = 0;
  if (torch_ && task_.backend == "cuda") {
    device = (bridge_candidate ? 2 : 1) * ((sets + 1) * in_bytes + 2 * out_bytes);
  }
  *memory = {{"problem_bytes", in_bytes + out_bytes},
             {"host_estimate_bytes", host},
             {"device_estimate_bytes", device}};
  const double available = MemAvailableBytes();
  std::string refusal;
  if (available > 0 && host > available) {
    refusal = "needs about " + GiB(host) + " of host memory, " + GiB(available) + " available";
  }
  if (device > 0) {
    auto rw = ref_->Get();
    if (!rw.ok()) return rw.status();
    Reply r = (*rw)->Request({{"op", "device_memory"}}, 60);
    const double free = r.ok() ? r.body.value("free", 0.0) : 0;
    (*memory)["device_free_bytes"] = free;
    if (free > 0 && device > free) {
      refusal += std::string(refusal.empty() ? "" : "; ") + "needs about " + GiB(device) +
                 " of device memory, " + GiB(free) + " free";
    }
  }
  if (refusal.empty()) return Status::Ok();
  return Status::Error("task " + task_.name + " at sizes " +
                       task::SizesToString(task_.bench_sizes) + " (" + GiB(in_bytes + out_bytes) +
                       " of inputs and outputs per call) " + refusal +
                       ": not judged. Judge it at smaller sizes with --sizes NAME=VALUE,...");
}

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
                      {"forward_inputs", task_.torch->forward_inputs}});
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
    auto launches = EvaluateLaunches(p.launches, sizes);
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
                       spec.distribution ? *spec.distribution : dist, Mix(seed ^ (i + 1)));
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
                               {"forward_inputs", task_.torch->forward_inputs}},
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

Status Evaluator::Impl::MeasureCeilings(bool remeasure) {
  // Only a worker that never loaded candidate code measures the machine (rule 19).
  auto w = base_->Get();
  if (!w.ok()) return w.status();
  if (task_.backend == "cuda") {
    // Measured on this device by its worker, once per evaluator (or again when asked).
    if (ceilings_ && !remeasure) return Status::Ok();
    Reply r = (*w)->Request({{"op", "ceilings"}}, 120);
    prof_.ceilings += r.seconds;
    if (!r.ok()) return Status::Error("measuring the GPU's ceilings: " + r.message);
    Ceilings c;
    c.copy_gbps = std::max(ceilings_ ? ceilings_->copy_gbps : 0.0, r.body.value("copy_gbps", 0.0));
    c.gflops_per_unit =
        std::max({ceilings_ ? ceilings_->gflops_per_unit : 0.0,
                  r.body.value("fp32_gemm_gflops", 0.0), r.body.value("bf16_gemm_gflops", 0.0)});
    c.fp32_gflops =
        std::max(ceilings_ ? ceilings_->fp32_gflops : 0.0, r.body.value("fp32_gemm_gflops", 0.0));
    c.cores = 1;
    ceilings_ = c;
    gpu_ceilings_ = r.body;
    return Status::Ok();
  }
  auto c = LoadOrMeasureCeilings(
      compiler_.cache_dir(),
      [&]() -> Result<json> {
        Reply r = (*w)->Request({{"op", "ceilings"}}, 60);
        prof_.ceilings += r.seconds;
        if (!r.ok()) return Status::Error("measuring ceilings: " + r.message);
        return r.body;
      },
      remeasure);
  if (!c.ok()) return c.status();
  ceilings_ = *c;
  return Status::Ok();
}

json Evaluator::Impl::NsightSummary(const Loaded& cand, uint64_t seed) {
  const fs::path ncu = FindNcu();
  if (ncu.empty()) return {{"error", "Nsight Compute (ncu) is not installed here"}};
  WorkerConfig config = cand_config_;
  config.prefix = NcuPrefix(ncu, "ncu.csv");  // relative to the worker's scratch directory
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
                     spec.distribution ? *spec.distribution : task_.distributions[0],
                     Mix(seed ^ 0x6E6375ULL ^ i));
  }
  auto call = CallRequest(program, *layout, task_.bench_sizes, {0}, 0, layout->set_bytes);
  if (!call.ok()) return {{"error", call.status().message()}};
  // Each kernel is replayed once per group of counters: allow far more than a plain call.
  Reply r = w->Request(*call, 30 * opt_.run_timeout_s + 60);
  if (!r.ok()) return {{"error", "the profiled call failed: " + r.message}};
  w->Finish(120);
  const std::string report = ReadFile(w->scratch() / "ncu.csv");
  auto summary = ParseNcuCsv(report);
  if (!summary.ok()) {
    return {
        {"error", summary.status().message() + ": " + report.substr(0, 600) + w->TakeOutput(600)}};
  }
  (*summary)["command"] =
      "ncu --clock-control none --cache-control all (one call at the bench "
      "sizes, the kernels inside the worker's kforge_call range)";
  return *summary;
}

void Evaluator::Impl::PauseAllBut(WorkerSlot* running) {
  for (WorkerSlot* slot : {native_cand_.get(), py_cand_.get(), base_.get(), ref_.get()}) {
    if (slot && slot != running && slot->current()) slot->current()->Pause();
  }
}

void Evaluator::Impl::ResumeAll() {
  for (WorkerSlot* slot : {native_cand_.get(), py_cand_.get(), base_.get(), ref_.get()}) {
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
  } else if (task_.backend == "cuda") {
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
      const json stage = {
          {"op", "stage"},
          {"sets",
           {{{"inputs", TorchSpecs(l, 0, true)}, {"forward_inputs", task_.torch->forward_inputs}}}},
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
                       spec.distribution ? *spec.distribution : task_.distributions[0],
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
  if (task_.backend == "cuda" && !bridge) {
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
  int sets = static_cast<int>(
      std::clamp<size_t>((2 * llc + layout->set_bytes - 1) / layout->set_bytes, 2, kMaxSets));
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
  fresh_worker_.reset();
  if (task_.backend == "cpu" && cand.torch_handle.empty()) {
    if (auto snap = SnapshotGroup((*w)->pid()); snap.ok()) fresh_worker_ = *snap;
  }
  if (auto f = Load(*cand_, cand); !f.ok() || *f) {
    if (!f.ok()) return f.status();
    return finish(*f);
  }

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

  if (auto f = AuditCandidate(cand, "correctness")) return finish(*f);

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

  if (auto s = PrepareTimedSets(*layout, sets, seed, cand); !s.ok()) return s;
  if (auto s = Stage(cand, *layout, sets); !s.ok()) return s;
  if (auto s = Stage(*initial_, *layout, sets); !s.ok()) return s;
  for (auto& v : vendor_) {
    if (&SlotOf(v) != &SlotOf(*initial_)) {
      if (auto s = Stage(v, *layout, sets); !s.ok()) return s;
    }
  }
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
  if (cand_time.median_ms < roof.floor_ms) {
    // Before calling it impossible, make sure the ceilings were not measured on a busy machine
    // (again in the clean worker: a candidate's worker never measures them).
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
