#include "eval/compiler.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "util/sha256.h"
#include "util/files.h"
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

}  // namespace

fs::path DefaultCacheDir() {
  if (const char* v = std::getenv("KFORGE_CACHE"); v && *v) return v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v) return fs::path(v) / "kforge";
  if (const char* v = std::getenv("HOME"); v && *v) return fs::path(v) / ".cache" / "kforge";
  return fs::temp_directory_path() / "kforge-cache";
}

CpuCompiler::CpuCompiler(fs::path cache_dir, double timeout_s)
    : cache_dir_(std::move(cache_dir)), timeout_s_(timeout_s) {}

Result<CompileResult> CpuCompiler::Compile(const fs::path& source_file, bool openmp) const {
  std::error_code ec;
  if (!fs::is_regular_file(source_file, ec)) {
    return Status::Error(source_file.string() + ": no such file");
  }
  const std::string ext = source_file.extension().string();
  const bool cxx = ext == ".cc" || ext == ".cpp" || ext == ".cxx" || ext == ".C";
  if (!cxx && ext != ".c") {
    return Status::Error(source_file.string() + ": expected a .c, .cc, .cpp or .cxx file");
  }
  const char* env = std::getenv(cxx ? "CXX" : "CC");
  const std::string compiler = env && *env ? env : (cxx ? "g++" : "gcc");
  const std::string identity = CompilerIdentity(compiler);
  if (identity.empty()) return Status::Error("cannot run the compiler '" + compiler + "'");

  const std::string source = ReadFile(source_file);
  std::vector<std::string> flags = {"-O3", "-march=native", "-fPIC", "-shared",
                                    cxx ? "-std=c++20" : "-std=c17", "-fvisibility=default"};
  if (openmp) flags.push_back("-fopenmp");
  std::string key_text = compiler + "\n" + identity + "\n";
  for (const auto& f : flags) key_text += f + " ";
  key_text += "\n" + source;
  const std::string key = Sha256Hex(key_text);
  const fs::path dir = cache_dir_ / "cpu" / key.substr(0, 2) / key;
  const fs::path lib = dir / "program.so";
  const fs::path log = dir / "compile.log";
  const fs::path failed = dir / "failed";

  CompileResult result;
  result.command = compiler;
  for (const auto& f : flags) result.command += " " + f;
  result.command += " -o program.so " + source_file.filename().string() + " -lm";
  if (fs::is_regular_file(lib) || fs::is_regular_file(failed)) {
    result.ok = fs::is_regular_file(lib);
    result.library = lib;
    result.log = ReadFile(log);
    result.cached = true;
    return result;
  }

  fs::create_directories(dir, ec);
  if (ec) return Status::Error("cannot create " + dir.string() + ": " + ec.message());
  const fs::path src_copy = dir / (std::string("program") + (cxx ? ".cc" : ".c"));
  if (!WriteFileAtomically(src_copy, source)) return Status::Error("cannot write " + src_copy.string());
  const fs::path tmp_lib = dir / ("program.so.tmp" + std::to_string(getpid()));
  std::vector<std::string> argv = {compiler};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"-o", tmp_lib.string(), src_copy.string(), "-lm"});
  auto run = RunCommand(argv, timeout_s_, 256 << 10, dir.string());
  if (!run.ok()) return run.status();
  result.seconds = run->seconds;
  result.log = run->output;
  result.timed_out = run->timed_out;
  if (run->timed_out) {
    result.log += "\n[kforge: the compiler did not finish within " + std::to_string(timeout_s_) + " s]";
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
  return result;
}

}  // namespace kf::eval
