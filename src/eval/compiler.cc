#include "eval/compiler.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "util/files.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::eval {
namespace fs = std::filesystem;

namespace {

bool WriteFileAtomically(const fs::path& p, const std::string& data) {
  const fs::path tmp = p.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << data;
    if (!out) return false;
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  return !ec;
}

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

nlohmann::json SassSummaryUncached(const fs::path& lib);

}  // namespace

nlohmann::json SassSummary(const fs::path& lib) {
  const fs::path file = lib.parent_path() / "sass.json";
  try {
    if (fs::is_regular_file(file)) return nlohmann::json::parse(ReadFile(file));
  } catch (const std::exception&) {
    // A damaged summary is made again.
  }
  nlohmann::json counts = SassSummaryUncached(lib);
  if (!counts.is_null()) WriteFileAtomically(file, counts.dump());
  return counts;
}

namespace {

nlohmann::json SassSummaryUncached(const fs::path& lib) {
  const char* tools[] = {"/usr/local/cuda/bin/cuobjdump", "cuobjdump"};
  for (const char* tool : tools) {
    auto r = RunCommand({tool, "-sass", lib.string()}, 60, 64 << 20);
    if (!r.ok() || r->timed_out || r->exit.code != 0) continue;
    nlohmann::json counts = nlohmann::json::object();
    for (const char* op : {"HGMMA", "HMMA", "QGMMA", "FFMA", "LDG", "STG", "LDS", "STS", "LDL",
                           "STL", "SHFL", "BAR", "UTMALDG"}) {
      size_t n = 0;
      const std::string needle = std::string(" ") + op;
      for (size_t at = r->output.find(needle); at != std::string::npos;
           at = r->output.find(needle, at + 1)) {
        const char next =
            at + needle.size() < r->output.size() ? r->output[at + needle.size()] : ' ';
        if (next == '.' || next == ' ') ++n;
      }
      counts[op] = n;
    }
    return counts;
  }
  return nullptr;
}

std::shared_ptr<std::mutex> KeyMutex(const std::string& key) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<std::mutex>> locks;
  std::lock_guard<std::mutex> lock(mu);
  auto& m = locks[key];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

}  // namespace

nlohmann::json ParsePtxasResources(const std::string& log) {
  nlohmann::json kernels = nlohmann::json::array();
  std::istringstream in(log);
  std::string line;
  nlohmann::json current;
  auto number_before = [](const std::string& l, const std::string& what) -> long {
    const size_t at = l.find(what);
    if (at == std::string::npos) return -1;
    size_t start = at;
    while (start > 0 && (std::isdigit(static_cast<unsigned char>(l[start - 1])))) --start;
    return start < at ? std::stol(l.substr(start, at - start)) : -1;
  };
  while (std::getline(in, line)) {
    const size_t fn = line.find("Compiling entry function '");
    if (fn != std::string::npos) {
      if (!current.is_null()) kernels.push_back(current);
      const size_t b = fn + 26, e = line.find('\'', b);
      current = {{"kernel", line.substr(b, e - b)}};
      continue;
    }
    if (current.is_null()) continue;
    if (long v = number_before(line, " bytes stack frame"); v >= 0) current["stack_bytes"] = v;
    if (long v = number_before(line, " bytes spill stores"); v >= 0) current["spill_stores"] = v;
    if (long v = number_before(line, " bytes spill loads"); v >= 0) current["spill_loads"] = v;
    if (long v = number_before(line, " registers"); v >= 0) current["registers"] = v;
    if (long v = number_before(line, " bytes smem"); v >= 0) current["shared_bytes"] = v;
  }
  if (!current.is_null()) kernels.push_back(current);
  return kernels;
}

fs::path DefaultCacheDir() {
  if (const char* v = std::getenv("KFORGE_CACHE"); v && *v) return v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v) return fs::path(v) / "kforge";
  if (const char* v = std::getenv("HOME"); v && *v) return fs::path(v) / ".cache" / "kforge";
  return fs::temp_directory_path() / "kforge-cache";
}

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
  auto specs = ParseLaunchSpecs(source);
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
    result.resources = ParsePtxasResources(result.log);
    if (!result.ok) return;
    try {
      result.lowered_names = nlohmann::json::parse(ReadFile(names_file));
    } catch (const std::exception&) {
      result.ok = false;
      result.log += "\n[kforge: the compiler's kernel names are unreadable]";
    }
  };
  if (fs::is_regular_file(cubin) || fs::is_regular_file(failed)) {
    result.ok = fs::is_regular_file(cubin);
    result.log = ReadFile(log);
    result.cached = true;
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
  auto run = RunCommand(argv, timeout_s_, 256 << 10, dir.string());
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
    if (run->exit.code == 1) WriteFileAtomically(failed, run->exit.Describe());
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
  const std::string ext = source_file.extension().string();
  const bool cuda = ext == ".cu";
  const bool cxx = ext == ".cc" || ext == ".cpp" || ext == ".cxx" || ext == ".C";
  if (!cuda && !cxx && ext != ".c") {
    return Status::Error(source_file.string() + ": expected a .c, .cc, .cpp, .cxx or .cu file");
  }
  if (cuda) {
    const std::string source = ReadFile(source_file);
    if (IsKernelOnly(source)) return CompileKernelOnly(source_file, source);
  }
  std::string compiler;
  std::vector<std::string> flags;
  std::vector<std::string> libs;
  if (cuda) {
    const char* env = std::getenv("NVCC");
    compiler = env && *env
                   ? env
                   : (fs::exists("/usr/local/cuda/bin/nvcc") ? "/usr/local/cuda/bin/nvcc" : "nvcc");
    const char* arch_env = std::getenv("KFORGE_CUDA_ARCH");
    const std::string arch = arch_env && *arch_env ? arch_env : "90a";
    flags = {"-O3",        "-std=c++17", "-gencode=arch=compute_" + arch + ",code=sm_" + arch,
             "-lineinfo",  "-Xcompiler", "-fPIC",
             "-Xcompiler", "-O1",        "-shared",
             "-cudart",    "shared",     "-Xptxas",
             "-v",         "-Xlinker",   "--no-undefined"};
    for (const auto& l : libraries) flags.push_back("-l" + l);
  } else {
    const char* env = std::getenv(cxx ? "CXX" : "CC");
    compiler = env && *env ? env : (cxx ? "g++" : "gcc");
    flags = {"-O3",
             "-march=native",
             "-fPIC",
             "-shared",
             cxx ? "-std=c++20" : "-std=c17",
             "-fvisibility=default",
             "-Wl,--no-undefined"};
    if (openmp) flags.push_back("-fopenmp");
    libs = {"-lm"};
  }
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
  auto describe = [&] {
    if (!cuda) return;
    result.resources = ParsePtxasResources(result.log);
  };
  if (fs::is_regular_file(lib) || fs::is_regular_file(failed)) {
    result.ok = fs::is_regular_file(lib);
    result.library = lib;
    result.log = ReadFile(log);
    result.cached = true;
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
  auto run = RunCommand(argv, timeout_s_, 256 << 10, dir.string());
  if (!run.ok()) return run.status();
  result.seconds = run->seconds;
  result.log = run->output;
  result.timed_out = run->timed_out;
  if (run->timed_out) {
    result.log +=
        "\n[kforge: the compiler did not finish within " + std::to_string(timeout_s_) + " s]";
    fs::remove(tmp_lib, ec);
    return result;  // not cached: a slow machine may succeed next time
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
