// The host side of a backend: what the orchestrator knows about one kind of device and the
// programs that run on it. One implementation per folder (src/backends/cpu/host.cc,
// src/backends/cuda/host.cc), beside that backend's worker executable; the evaluator, the search
// and the commands know backends only through this interface and the `BackendKind` enum.
//
// A task names its backend by string (`backend: cuda`); that string is parsed once, where the
// task is loaded (ParseBackendKind), and nothing past that edge compares names.
//
// PyTorch tasks are not a backend of their own: the bridge worker runs a module and ModelNew
// candidates on the device of a backend here (cpu or cuda), and native candidates of such a task
// are that backend's programs. Whether a program goes through the bridge is the program's kind
// (a .py file, a task with a module), not the device's.
//
// Adding a backend (Metal, ROCm): a folder with its worker executable and a host.cc implementing
// Backend, one enumerator in BackendKind and one line in the registry (backend.cc).
//
// Thread-safe: backends are immutable singletons; their methods may be called concurrently.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kf::backends {

enum class BackendKind { kCpu, kCuda };

// The machine's measured limits, for the roofline floor (eval_roofline.cc).
struct Ceilings {
  double copy_gbps = 0;        // memory bandwidth, bytes read + written (see cpu/ceilings.cc)
  double gflops_per_unit = 0;  // CPU: one core's FMA rate; GPU: the best cuBLAS matrix rate
  double fp32_gflops = 0;      // GPU: cuBLAS SGEMM's rate, the limit for fp32 arithmetic
  int cores = 1;               // units the task may use at once (CPU cores; 1 for a GPU)
};

// What a backend's ceilings measurement returns: the figures, and the worker's reply as it was
// (shown in a result's detail where the backend keeps it; null otherwise).
struct MeasuredCeilings {
  Ceilings ceilings;
  nlohmann::json raw;
};

// Asks the backend's clean worker (one that never loaded candidate code) for its `ceilings`
// reply, with this deadline in seconds.
using CeilingsProbe = std::function<Result<nlohmann::json>(double timeout_s)>;

// How a native (shared-object) program of this backend is compiled: the compiler, its flags and
// libraries, and what else the compile's sandbox must see.
struct Toolchain {
  std::string compiler;
  std::vector<std::string> flags;
  std::vector<std::string> libs;              // after the source on the command line
  std::vector<std::string> visible_programs;  // whose install prefixes the sandbox shows
  unsigned long long address_bytes = 0;       // the compile's address-space limit
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendKind kind() const = 0;
  // As written in task files and results: "cpu", "cuda".
  virtual std::string name() const = 0;
  // The worker executable, found beside the kforge binary.
  virtual std::string_view worker_executable() const = 0;
  // What candidates are written in, for messages ("C or C++", "CUDA").
  virtual std::string language() const = 0;
  // The extension of the programs a run asks models for, given the task's initial program's
  // (a C task stays C), and the code-fence tag asked for a program with that extension; every tag
  // accepted in a reply.
  virtual std::string ProgramExtension(const std::string& initial_extension) const = 0;
  virtual std::string FenceTag(const std::string& extension) const = 0;
  virtual std::vector<std::string> AcceptedFenceTags() const = 0;
  // File extensions of native programs this backend compiles (".c", ".cu").
  virtual std::vector<std::string> SourceExtensions() const = 0;

  // Devices: how many `--device` ordinals a worker can use (at least 1 where the backend is
  // usable here; 0 on a host without such devices), the device nodes its sandbox binds in, and
  // the torch device string of one ordinal.
  virtual int DeviceCount() const = 0;
  virtual std::vector<std::string> DeviceNodes() const = 0;
  virtual std::string TorchDevice(int ordinal) const = 0;
  // Whether workers take a `--device` ordinal; otherwise there is one device, the host.
  virtual bool HasDeviceOrdinals() const = 0;
  // Whether the device lives in the worker's address space (a GPU driver maps the whole device's
  // range): then an address-space limit cannot hold.
  virtual bool MapsDeviceMemory() const = 0;
  // Whether the worker computes on a device copy of the arena, so timed sets are uploaded before
  // timing and downloaded after.
  virtual bool MirrorsArena() const = 0;
  // Whether the worker's threads run on the host's cores, so the task's rule on threads applies
  // to it and its process is audited through /proc.
  virtual bool RunsOnHostCores() const = 0;

  // Compiling: the toolchain of a native program (`cxx`: C++ rather than C; `openmp`; extra
  // `libraries` for trusted baselines), and what the compiler's log says about resources (null
  // when it says nothing). Errors only when the backend cannot compile here at all.
  virtual Toolchain NativeToolchain(bool cxx, bool openmp,
                                    const std::vector<std::string>& libraries) const = 0;
  virtual nlohmann::json CompileResources(const std::string& log) const = 0;

  // Feedback: a summary of a compiled program's machine code (null when the backend has none),
  // and the profiler (an error when the backend has none or it is not installed here): the argv
  // prefix that runs a worker under it writing `report`, and the reading of that report.
  virtual bool HasMachineCodeSummary() const = 0;
  virtual nlohmann::json MachineCodeSummary(const std::filesystem::path& program) const = 0;
  virtual bool HasProfiler() const = 0;
  virtual Result<std::vector<std::string>> ProfilerPrefix(
      const std::filesystem::path& report) const = 0;
  virtual Result<nlohmann::json> ReadProfile(const std::string& report) const = 0;

  // Ceilings: measured through `probe`, cached where the backend caches them (under cache_dir);
  // `previous` (this evaluator's last figures) is returned as is unless `remeasure`, and a
  // remeasurement keeps the higher of old and new figures.
  virtual Result<MeasuredCeilings> MeasureCeilings(const std::filesystem::path& cache_dir,
                                                   const CeilingsProbe& probe,
                                                   const std::optional<Ceilings>& previous,
                                                   bool remeasure) const = 0;
  // The copy ceiling is one unit's (a CPU core's): several units may stream more.
  virtual bool CopyCeilingPerUnit() const = 0;
};

// The registry: every backend kforge was built with, by kind.
const Backend& GetBackend(BackendKind kind);
const std::vector<const Backend*>& AllBackends();
// The backend whose native programs have this file extension (".cu": cuda); null when none.
const Backend* BackendForSource(const std::filesystem::path& file);

// The parse edge: a backend's name ("cpu", "cuda") to its kind; an error naming the known ones.
Result<BackendKind> ParseBackendKind(std::string_view name);
std::string BackendName(BackendKind kind);
// Every backend's name, for usage text and validators.
std::vector<std::string> BackendNames();

}  // namespace kf::backends
