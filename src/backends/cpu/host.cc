// The CPU backend's host side: native C and C++ programs compiled by the system compiler, run
// by kforge-cpu-worker on the host's cores; ceilings cached per CPU model.
#include "backends/cpu/host.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::backends::cpu {
namespace fs = std::filesystem;

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown cpu";
}

namespace {

// Flags of /proc/cpuinfo worth naming to someone writing vector code.
bool InterestingFlag(const std::string& f) {
  static const char* kPrefixes[] = {"sse", "ssse3", "avx", "fma",  "f16c",   "amx",
                                    "bmi", "asimd", "sve", "neon", "popcnt", "vnni"};
  for (const char* p : kPrefixes) {
    if (f.rfind(p, 0) == 0) return true;
  }
  return false;
}

size_t SizeBytes(std::string s) {
  size_t mult = 1;
  if (!s.empty() && s.back() == 'K') mult = 1024;
  if (!s.empty() && s.back() == 'M') mult = 1024 * 1024;
  if (mult != 1) s.pop_back();
  try {
    return std::stoul(s) * mult;
  } catch (const std::exception&) {
    return 0;
  }
}

std::string FirstLine(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

nlohmann::json ReadCpuFacts() {
  nlohmann::json isa = nlohmann::json::array();
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0 && line.rfind("Features", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    std::string f;
    while (flags >> f) {
      if (InterestingFlag(f)) isa.push_back(f);
    }
    break;
  }
  nlohmann::json caches = nlohmann::json::array();
  const fs::path dir = "/sys/devices/system/cpu/cpu0/cache";
  for (int i = 0; i < 8; ++i) {
    const fs::path index = dir / ("index" + std::to_string(i));
    const size_t bytes = SizeBytes(FirstLine(index / "size"));
    if (bytes == 0) continue;
    const std::string shared = FirstLine(index / "shared_cpu_list");
    caches.push_back({{"level", std::atoi(FirstLine(index / "level").c_str())},
                      {"type", FirstLine(index / "type")},
                      {"bytes", bytes},
                      {"shared_by", shared}});
  }
  return {{"model", CpuModelName()},
          {"logical_cpus", std::max(1u, std::thread::hardware_concurrency())},
          {"isa", isa},
          {"caches", caches}};
}

}  // namespace

nlohmann::json CpuFacts() {
  static const nlohmann::json facts = ReadCpuFacts();
  return facts;
}

namespace {

// Reads the cached ceilings for this CPU, or calls measure (which asks a worker) and caches them.
// With remeasure, measures again and keeps the higher of the cached and new figures: a busy
// machine measures low, and a low ceiling would make honest candidates look impossible.
Result<Ceilings> LoadOrMeasureCeilings(const fs::path& cache_dir,
                                       const std::function<Result<nlohmann::json>()>& measure,
                                       bool remeasure) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string model = CpuModelName();
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const fs::path file =
      cache_dir / ("cpu_ceilings-v3-" + Sha256Hex(model + "|" + host).substr(0, 16) + ".json");
  Ceilings c;
  c.cores = cores;
  try {
    std::ifstream in(file);
    if (in) {
      auto j = nlohmann::json::parse(in);
      c.copy_gbps = j.at("copy_gbps");
      c.gflops_per_unit = j.at("fma_gflops_per_core");
      if (c.copy_gbps > 0 && c.gflops_per_unit > 0 && !remeasure) return c;
    }
  } catch (const std::exception&) {
    // A damaged cache file is measured again.
  }
  auto j = measure();
  if (!j.ok()) return j.status();
  // Other load only ever lowers a measurement: keep the best seen on this machine.
  c.copy_gbps = std::max(c.copy_gbps, j->value("copy_gbps", 0.0));
  c.gflops_per_unit = std::max(c.gflops_per_unit, j->value("fma_gflops_per_core", 0.0));
  if (c.copy_gbps <= 0 || c.gflops_per_unit <= 0) {
    return Status::Error("measuring this machine's ceilings failed");
  }
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  std::ofstream out(file.string() + ".tmp");
  out << nlohmann::json{{"cpu_model", model},
                        {"copy_gbps", c.copy_gbps},
                        {"fma_gflops_per_core", c.gflops_per_unit}}
             .dump(2);
  out.close();
  fs::rename(file.string() + ".tmp", file, ec);
  return c;
}

// Address space of a compile: half of nvcc's 8 GiB (its tools reserve large ranges). Far beyond
// what a program's compile uses; it stops a template bomb taking the machine.
constexpr unsigned long long kCompileAddressBytes = 4ull << 30;

class CpuBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::kCpu; }
  std::string name() const override { return "cpu"; }
  std::string_view worker_executable() const override { return "kforge-cpu-worker"; }
  std::string language() const override { return "C or C++"; }
  std::string ProgramExtension(const std::string& initial_extension) const override {
    return initial_extension == ".c" ? ".c" : ".cc";
  }
  std::string FenceTag(const std::string& extension) const override {
    return extension == ".c" ? "c" : "cpp";
  }
  std::vector<std::string> AcceptedFenceTags() const override {
    return {"c", "cpp", "c++", "cc", "C"};
  }
  std::vector<std::string> SourceExtensions() const override {
    return {".c", ".cc", ".cpp", ".cxx", ".C"};
  }

  int DeviceCount() const override { return 1; }
  std::vector<std::string> DeviceNodes() const override { return {}; }
  std::string TorchDevice(int) const override { return "cpu"; }
  bool HasDeviceOrdinals() const override { return false; }
  bool MapsDeviceMemory() const override { return false; }
  bool MirrorsArena() const override { return false; }
  bool RunsOnHostCores() const override { return true; }

  Toolchain NativeToolchain(bool cxx, bool openmp, const std::vector<std::string>&) const override {
    Toolchain t;
    const char* env = std::getenv(cxx ? "CXX" : "CC");
    t.compiler = env && *env ? env : (cxx ? "g++" : "gcc");
    t.flags = {"-O3",
               "-march=native",
               "-fPIC",
               "-shared",
               cxx ? "-std=c++20" : "-std=c17",
               "-fvisibility=default",
               "-Wl,--no-undefined",
               "-H"};
    if (openmp) t.flags.push_back("-fopenmp");
    t.libs = {"-lm"};
    t.visible_programs = {t.compiler};
    t.address_bytes = kCompileAddressBytes;
    return t;
  }
  nlohmann::json CompileResources(const std::string&) const override { return nullptr; }

  bool HasMachineCodeSummary() const override { return false; }
  nlohmann::json MachineCodeSummary(const fs::path&) const override { return nullptr; }
  bool HasProfiler() const override { return false; }
  Result<std::vector<std::string>> ProfilerPrefix(const fs::path&) const override {
    return Status::Error("the CPU backend has no profiler");
  }
  Result<nlohmann::json> ReadProfile(const std::string&) const override {
    return Status::Error("the CPU backend has no profiler");
  }

  // Measured once per machine and cached per CPU model (about half a second).
  Result<MeasuredCeilings> MeasureCeilings(const fs::path& cache_dir, const CeilingsProbe& probe,
                                           const std::optional<Ceilings>&,
                                           bool remeasure) const override {
    auto c = LoadOrMeasureCeilings(
        cache_dir,
        [&]() -> Result<nlohmann::json> {
          auto r = probe(60);
          if (!r.ok()) return Status::Error("measuring ceilings: " + r.status().message());
          return r;
        },
        remeasure);
    if (!c.ok()) return c.status();
    return MeasuredCeilings{*c, nullptr};
  }
  bool CopyCeilingPerUnit() const override { return true; }
};

}  // namespace

const Backend& Host() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace kf::backends::cpu
