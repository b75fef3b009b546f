#include "eval/compiler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "backends/backend.h"
#include "backends/cuda/machine_code.h"
#include "eval/sandbox.h"
#include "util/files.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::eval {
namespace fs = std::filesystem;

namespace {

// `cc --version` once per compiler per process: part of the cache key.
std::string CompilerIdentity(const std::string& compiler) {
  static std::mutex mu;
  static std::map<std::string, std::string> known;
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(compiler);
  if (it != known.end()) return it->second;
  auto r = RunCommand({compiler, "--version"}, 30);
  std::string id = r.ok() && !r->timed_out && r->exit.code == 0 ? r->output : "";
  known[compiler] = id;
  return id;
}

// A file the compiler writes past this is cut off (SIGXFSZ): a program's object is a few MiB; a
// 537 MB one was once written into the cache.
constexpr unsigned long long kCompileFileBytes = 64ull << 20;
// Address space of an NVRTC compile: 8 GiB (its tools reserve large ranges; native compiles take
// their backend's limit, backends/backend.h). Far beyond what a kernel's compile uses; it stops a
// template bomb taking the machine.
constexpr unsigned long long kCompileAddressBytes = 8ull << 30;

// The install prefix of a program outside the system directories (a compiler under /opt or a
// home), which the compile sandbox must show; empty for one under /usr.
fs::path ProgramPrefix(const std::string& program) {
  std::error_code ec;
  fs::path p = program;
  if (!p.is_absolute()) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (size_t at = 0; at <= dirs.size();) {
      const size_t end = std::min(dirs.find(':', at), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(at, end - at)) / program;
      if (end > at && fs::exists(candidate, ec)) {
        p = candidate;
        break;
      }
      at = end + 1;
    }
  }
  const fs::path real = fs::weakly_canonical(p, ec);
  if (ec || !real.is_absolute()) return {};
  const std::string s = real.string();
  if (s.rfind("/usr/", 0) == 0 || s.rfind("/bin/", 0) == 0) return {};
  // <prefix>/bin/program: the prefix holds the compiler's own headers and libraries.
  return real.parent_path().filename() == "bin" ? real.parent_path().parent_path()
                                                : real.parent_path();
}

// Runs a compile: inside bubblewrap where it works (sandbox.h's kSystem view: the system
// directories, `visible`, and `dir` writable: not the user's files, not the rest of the cache, no
// network), from a clean environment, with the file-size and address-space limits.
Result<RunResult> RunCompiler(const std::vector<std::string>& command, const fs::path& dir,
                              double timeout_s, unsigned long long address_space_bytes,
                              std::vector<fs::path> visible, bool sandbox,
                              const fs::path& tmp_dir = {}) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Error(std::string("pipe: ") + strerror(errno));
  SpawnSpec spec;
  if (sandbox && ProbeSandbox().bwrap) {
    spec.argv = SandboxPrefix(SandboxSpec{SandboxView::kSystem, {dir}, std::move(visible), {}});
  }
  spec.argv.insert(spec.argv.end(), command.begin(), command.end());
  spec.output_fd = out[1];
  spec.cwd = dir.string();
  spec.limits = {address_space_bytes, kCompileFileBytes, 0};
  // The compiler sees none of kforge's environment (API keys live there): PATH finds nvcc's host
  // compiler, LD_LIBRARY_PATH a compiler installed outside the system directories.
  spec.clean_env = true;
  const char* path = std::getenv("PATH");
  spec.env = {std::string("PATH=") + (path && *path ? path : "/usr/local/bin:/usr/bin:/bin"),
              "LANG=C.UTF-8", "HOME=" + dir.string(),
              "TMPDIR=" + (tmp_dir.empty() ? std::string("/tmp") : tmp_dir.string())};
  if (const char* v = std::getenv("LD_LIBRARY_PATH"); v && *v) {
    spec.env.push_back(std::string("LD_LIBRARY_PATH=") + v);
  }
  const double start = MonotonicSeconds();
  auto pid = Spawn(spec);
  close(out[1]);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  RunResult r;
  const size_t max_output = 256 << 10;
  char buf[65536];
  for (;;) {
    const double left = timeout_s - (MonotonicSeconds() - start);
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < max_output) {
      r.output.append(buf, std::min(static_cast<size_t>(n), max_output - r.output.size()));
    }
  }
  close(out[0]);
  r.exit = r.timed_out ? KillAndReap(*pid) : Reap(*pid);
  r.seconds = MonotonicSeconds() - start;
  return r;
}

}  // namespace

IncludeTrace ReadIncludeTrace(const std::string& output, const fs::path& source,
                              const std::vector<fs::path>& allowed_roots) {
  IncludeTrace trace;
  std::error_code ec;
  const fs::path real_source = fs::weakly_canonical(source, ec);
  auto allowed = [&](const fs::path& file) {
    const fs::path real = fs::weakly_canonical(file, ec);
    if (ec) return false;
    if (real == real_source) return true;
    for (const auto& root : allowed_roots) {
      const std::string r = root.string();
      const std::string f = real.string();
      if (f.size() > r.size() && f.compare(0, r.size(), r) == 0 &&
          (r.back() == '/' || f[r.size()] == '/')) {
        return true;
      }
    }
    return false;
  };
  std::istringstream in(output);
  std::string line;
  bool guards_list = false;
  while (std::getline(in, line)) {
    // -H: one line per opened header, dots for the depth; at the end of a translation unit
    // "Multiple include guards may be useful for:" and one path per line.
    size_t dots = 0;
    while (dots < line.size() && line[dots] == '.') ++dots;
    if (dots > 0 && dots + 1 < line.size() && line[dots] == ' ') {
      fs::path file = line.substr(dots + 1);
      if (file.is_relative()) file = source.parent_path() / file;
      if (!allowed(file) && trace.outside.empty()) trace.outside = line.substr(dots + 1);
      guards_list = false;
      continue;
    }
    if (line == "Multiple include guards may be useful for:") {
      guards_list = true;
      continue;
    }
    if (guards_list && !line.empty() && line[0] == '/' && line.find(':') == std::string::npos) {
      continue;
    }
    guards_list = false;
    trace.log += line + "\n";
  }
  return trace;
}

namespace {

// Where a compile may take headers from: the system directories (nothing there is a user's),
// the CUDA toolkit, and the compiler's own prefix when it lives elsewhere.
std::vector<fs::path> IncludeRoots(const std::vector<fs::path>& compiler_prefixes) {
  std::vector<fs::path> roots = {"/usr"};
  std::error_code ec;
  std::vector<fs::path> dirs = {"/usr/local/cuda"};
  dirs.insert(dirs.end(), compiler_prefixes.begin(), compiler_prefixes.end());
  for (const fs::path& p : dirs) {
    if (p.empty() || !fs::exists(p, ec)) continue;
    const fs::path real = fs::weakly_canonical(p, ec);
    if (!ec) roots.push_back(real);
  }
  return roots;
}

}  // namespace

namespace {

std::shared_ptr<std::mutex> KeyMutex(const std::string& key) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<std::mutex>> locks;
  std::lock_guard<std::mutex> lock(mu);
  auto& m = locks[key];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

}  // namespace

namespace {

// A compile the cache has already seen (its output, or a failure recorded) read into `result`:
// false when the cache has neither.
bool ReadCached(CompileResult& result, const fs::path& output, const fs::path& log,
                const fs::path& failed) {
  if (!fs::is_regular_file(output) && !fs::is_regular_file(failed)) return false;
  result.ok = fs::is_regular_file(output);
  result.library = output;
  result.log = ReadFile(log);
  result.cached = true;
  // A cached include of a host file stays one: the file it named is the log's first line.
  const std::string kIncludes = "kforge: the program includes ";
  if (!result.ok && result.log.rfind(kIncludes, 0) == 0) {
    const size_t end = result.log.find(", which is outside");
    if (end != std::string::npos) {
      result.include_violation = result.log.substr(kIncludes.size(), end - kIncludes.size());
    }
  }
  return true;
}

}  // namespace

fs::path DefaultCacheDir() { return CacheRoot(); }

Compiler::Compiler(fs::path cache_dir, double timeout_s)
    : cache_dir_(std::move(cache_dir)), timeout_s_(timeout_s) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  tools_dir_ = ec ? fs::current_path() : exe.parent_path();
}

Result<CompileResult> Compiler::CompileKernelOnly(const fs::path& source_file,
                                                  const std::string& source) const {
  CompileResult result;
  result.kernel_only = true;
  const fs::path tool = tools_dir_ / "kforge-nvrtc";
  const char* arch_env = std::getenv("KFORGE_CUDA_ARCH");
  const std::string arch = arch_env && *arch_env ? arch_env : "90a";
  result.command = tool.string() + " --arch " + arch + " (NVRTC: -arch=sm_" + arch +
                   " -std=c++17 -lineinfo --ptxas-options=-v -default-device) " +
                   source_file.filename().string();
  auto specs = backends::cuda::ParseLaunchSpecs(source);
  if (!specs.ok()) {
    result.log = source_file.filename().string() + ": " + specs.status().message();
    return result;
  }
  result.launches = *specs;
  const std::string identity = CompilerIdentity(tool.string());
  if (identity.empty()) {
    return Status::Error("cannot run " + tool.string() +
                         " (kernel-only CUDA programs need kforge built with the CUDA toolkit)");
  }
  std::vector<std::string> names;
  for (const auto& s : result.launches) {
    if (std::find(names.begin(), names.end(), s.kernel) == names.end()) names.push_back(s.kernel);
  }
  std::string key_text = "nvrtc\n" + identity + "\n" + arch + "\n";
  for (const auto& n : names) key_text += n + "\n";
  const std::string key = Sha256Hex(key_text + source);
  const fs::path dir = cache_dir_ / "cuda" / key.substr(0, 2) / key;
  const fs::path cubin = dir / "program.cubin", names_file = dir / "kernels.json";
  const fs::path log = dir / "compile.log", failed = dir / "failed";
  std::lock_guard<std::mutex> key_lock(*KeyMutex(key));
  result.library = cubin;
  auto describe = [&] {
    result.resources = backends::cuda::ParsePtxasResources(result.log);
    if (!result.ok) return;
    try {
      result.lowered_names = nlohmann::json::parse(ReadFile(names_file));
    } catch (const std::exception&) {
      result.ok = false;
      result.log += "\n[kforge: the compiler's kernel names are unreadable]";
    }
  };
  if (ReadCached(result, cubin, log, failed)) {
    describe();
    return result;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("cannot create " + dir.string() + ": " + ec.message());
  const fs::path src_copy = dir / "program.cu";
  if (!WriteFileAtomically(src_copy, source))
    return Status::Error("cannot write " + src_copy.string());
  const std::string tmp = "." + std::to_string(getpid());
  std::vector<std::string> argv = {tool.string(),
                                   "--arch",
                                   arch,
                                   "--out",
                                   cubin.string() + tmp,
                                   "--names",
                                   names_file.string() + tmp,
                                   src_copy.string()};
  argv.insert(argv.end(), names.begin(), names.end());
  auto run = RunCompiler(argv, dir, timeout_s_, kCompileAddressBytes, {tool}, sandbox_);
  if (!run.ok()) return run.status();
  result.seconds = run->seconds;
  result.log = run->output;
  result.timed_out = run->timed_out;
  if (run->timed_out) {
    result.log +=
        "\n[kforge: the compiler did not finish within " + std::to_string(timeout_s_) + " s]";
    return result;
  }
  WriteFileAtomically(log, result.log);
  if (run->exit.signaled || run->exit.code != 0) {
    if (run->exit.code == 1 || run->exit.code == 128 + SIGXFSZ ||
        (run->exit.signaled && run->exit.signal == SIGXFSZ)) {
      WriteFileAtomically(failed, run->exit.Describe());
    }
    fs::remove(cubin.string() + tmp, ec);
    return result;
  }
  fs::rename(names_file.string() + tmp, names_file, ec);
  if (!ec) fs::rename(cubin.string() + tmp, cubin, ec);
  if (ec) return Status::Error("cannot store " + cubin.string() + ": " + ec.message());
  result.ok = true;
  describe();
  return result;
}

Result<CompileResult> Compiler::Compile(const fs::path& source_file, bool openmp,
                                        const std::vector<std::string>& libraries) const {
  std::error_code ec;
  if (!fs::is_regular_file(source_file, ec)) {
    return Status::Error(source_file.string() + ": no such file");
  }
  const backends::Backend* backend = backends::BackendForSource(source_file);
  if (!backend) {
    return Status::Error(source_file.string() + ": expected a .c, .cc, .cpp, .cxx or .cu file");
  }
  const bool cuda = backend->kind() == backends::BackendKind::kCuda;
  const bool cxx = !cuda && source_file.extension() != ".c";
  if (cuda) {
    const std::string source = ReadFile(source_file);
    if (backends::cuda::IsKernelOnly(source)) return CompileKernelOnly(source_file, source);
  }
  const backends::Toolchain toolchain = backend->NativeToolchain(cxx, openmp, libraries);
  const std::string& compiler = toolchain.compiler;
  const std::vector<std::string>& flags = toolchain.flags;
  const std::vector<std::string>& libs = toolchain.libs;
  const std::string identity = CompilerIdentity(compiler);
  if (identity.empty()) return Status::Error("cannot run the compiler '" + compiler + "'");

  const std::string source = ReadFile(source_file);
  std::string key_text = compiler + "\n" + identity + "\n";
  for (const auto& f : flags) key_text += f + " ";
  key_text += "\n" + source;
  const std::string key = Sha256Hex(key_text);
  const fs::path dir = cache_dir_ / "cpu" / key.substr(0, 2) / key;
  const fs::path lib = dir / "program.so";
  const fs::path log = dir / "compile.log";
  const fs::path failed = dir / "failed";

  // One compile per key at a time in this process (the same program is often the candidate and
  // the task's initial program); the second caller then finds it cached.
  std::lock_guard<std::mutex> key_lock(*KeyMutex(key));
  CompileResult result;
  result.library = lib;  // where it is, or would be: valid only when ok
  result.command = compiler;
  for (const auto& f : flags) result.command += " " + f;
  result.command += " -o program.so " + source_file.filename().string();
  for (const auto& l : libs) result.command += " " + l;
  auto describe = [&] { result.resources = backend->CompileResources(result.log); };
  if (ReadCached(result, lib, log, failed)) {
    describe();
    return result;
  }

  fs::create_directories(dir, ec);
  if (ec) return Status::Error("cannot create " + dir.string() + ": " + ec.message());
  const fs::path src_copy = dir / (std::string("program") + (cuda ? ".cu" : cxx ? ".cc" : ".c"));
  if (!WriteFileAtomically(src_copy, source))
    return Status::Error("cannot write " + src_copy.string());
  const fs::path tmp_lib = dir / ("program.so.tmp" + std::to_string(getpid()));
  std::vector<std::string> argv = {compiler};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"-o", tmp_lib.string(), src_copy.string()});
  argv.insert(argv.end(), libs.begin(), libs.end());
  // The compiler's temporaries (nvcc's generated sources, which it includes) in a directory of
  // the compile's own, so that the include check can tell them from the host's /tmp.
  const fs::path tmp_dir = dir / ("tmp" + std::to_string(getpid()));
  fs::create_directories(tmp_dir, ec);
  // The compiler's prefix where it lives outside /usr (the GPU image's CC is /opt/gcc/bin/gcc),
  // and those of the programs it runs (nvcc's host compiler).
  std::vector<fs::path> visible;
  for (const std::string& program : toolchain.visible_programs) {
    const fs::path prefix = ProgramPrefix(program);
    if (!prefix.empty()) visible.push_back(prefix);
  }
  auto run =
      RunCompiler(argv, dir, timeout_s_, toolchain.address_bytes, visible, sandbox_, tmp_dir);
  fs::remove_all(tmp_dir, ec);
  if (!run.ok()) return run.status();
  result.seconds = run->seconds;
  result.timed_out = run->timed_out;
  std::vector<fs::path> roots = IncludeRoots(visible);
  roots.push_back(fs::weakly_canonical(tmp_dir, ec));
  IncludeTrace trace = ReadIncludeTrace(run->output, src_copy, roots);
  if (!trace.outside.empty()) {
    // The compiler read a file that is not a header (a host file through a computed include):
    // what it printed may quote that file, so none of it is kept.
    result.include_violation = trace.outside;
    result.log = "kforge: the program includes " + trace.outside +
                 ", which is outside the system include directories and the CUDA toolkit; the "
                 "compiler's output is withheld\n";
    fs::remove(tmp_lib, ec);
    if (!run->timed_out) {
      WriteFileAtomically(log, result.log);
      WriteFileAtomically(failed, "include outside the system directories");
    }
    return result;
  }
  result.log = trace.log;
  if (run->timed_out) {
    result.log +=
        "\n[kforge: the compiler did not finish within " + std::to_string(timeout_s_) + " s]";
    fs::remove(tmp_lib, ec);
    return result;  // not cached: a slow machine may succeed next time
  }
  // The file-size signal ends the program that wrote (the assembler, the linker): the driver
  // reports it, bubblewrap passes it on as 128 + SIGXFSZ.
  if ((run->exit.signaled && run->exit.signal == SIGXFSZ) || run->exit.code == 128 + SIGXFSZ ||
      run->output.find("File size limit exceeded") != std::string::npos) {
    result.log += "\n[kforge: the compiler wrote a file larger than " +
                  std::to_string(kCompileFileBytes >> 20) + " MiB and was stopped]";
  }
  WriteFileAtomically(log, result.log);
  if (run->exit.signaled || run->exit.code != 0 || !fs::is_regular_file(tmp_lib)) {
    fs::remove(tmp_lib, ec);
    WriteFileAtomically(failed, run->exit.Describe());
    return result;
  }
  fs::rename(tmp_lib, lib, ec);
  if (ec) return Status::Error("cannot store " + lib.string() + ": " + ec.message());
  result.ok = true;
  result.library = lib;
  describe();
  return result;
}

}  // namespace kf::eval
