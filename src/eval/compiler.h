// Compiles programs under a deadline: native programs with their backend's toolchain (C and C++
// with the system compiler, CUDA with host code with nvcc; backends/backend.h) into shared
// objects, kernel-only CUDA (backends/cuda/launch_spec.h) with NVRTC into a cubin; cached
// by the SHA-256 of everything that determines the output (compiler identity, flags, source). A
// failed compile is cached too: the same source gets the same log without paying again.
// Thread-safe: compiles may run concurrently; the cache is written by rename, so concurrent writers
// of one key agree.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/cuda/launch_spec.h"
#include "util/status.h"

namespace kf::eval {

struct CompileResult {
  bool ok = false;
  std::filesystem::path library;  // the shared object or cubin; exists only when ok
  // Kernel-only CUDA: the declared launches and each kernel's lowered (mangled) name.
  bool kernel_only = false;
  std::vector<backends::cuda::LaunchSpec> launches;
  nlohmann::json lowered_names;
  std::string log;      // compiler output (warnings or errors)
  std::string command;  // the command line, for the record
  bool cached = false;
  bool timed_out = false;
  double seconds = 0;
  // CUDA only: per kernel registers, shared memory, stack and spills (from ptxas -v).
  nlohmann::json resources;
  // Set when the program included a file outside the system include directories and the CUDA
  // toolkit (through a macro, past the static check): the file, as the compiler named it. The
  // compile then fails (ok == false) and `log` says so without the compiler's output, which
  // could quote the file. A rule broken, not a mistake: worth a static_violation.
  std::string include_violation;
};

// What the compiler's -H trace in `output` says: the first included file outside
// `allowed_roots` (canonical directories) and other than `source` itself, empty if none; and the
// output without the trace.
struct IncludeTrace {
  std::string outside;
  std::string log;
};
IncludeTrace ReadIncludeTrace(const std::string& output, const std::filesystem::path& source,
                              const std::vector<std::filesystem::path>& allowed_roots);

class Compiler {
 public:
  Compiler(std::filesystem::path cache_dir, double timeout_s);

  // Compiles source_file (C for .c, C++ for .cc/.cpp/.cxx) with -O3 -march=native into a shared
  // object; `openmp` adds -fopenmp. A .cu file with launch declarations goes to NVRTC
  // (kforge-nvrtc, found in tools_dir), any other .cu file to nvcc. Returns a Status only when
  // kforge itself cannot run the compiler; a program that does not compile is a CompileResult with
  // ok == false.
  // `libraries` (CUDA with host code only: cublas, cublasLt) are linked, for trusted baselines.
  Result<CompileResult> Compile(const std::filesystem::path& source_file, bool openmp,
                                const std::vector<std::string>& libraries = {}) const;

  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  // Where kforge's own tools (kforge-nvrtc) are; by default the running executable's directory.
  void set_tools_dir(std::filesystem::path dir) { tools_dir_ = std::move(dir); }
  // Compiles run under bubblewrap where it works (sandbox.h: the system directories, the
  // compile's own cache directory writable, no network), by default; false runs them as plain
  // processes (`--no-sandbox`). Either way: a clean environment, 64 MiB per file written, an
  // address-space limit, and the include check.
  void set_sandbox(bool sandbox) { sandbox_ = sandbox; }

 private:
  Result<CompileResult> CompileKernelOnly(const std::filesystem::path& source_file,
                                          const std::string& source) const;

  std::filesystem::path cache_dir_;
  std::filesystem::path tools_dir_;
  double timeout_s_;
  bool sandbox_ = true;
};

// $KFORGE_CACHE, else $XDG_CACHE_HOME/kforge, else ~/.cache/kforge.
std::filesystem::path DefaultCacheDir();

}  // namespace kf::eval
