#include "backends/cuda/host.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "backends/cuda/machine_code.h"
#include "backends/cuda/nsight.h"

namespace kf::backends::cuda {
namespace fs = std::filesystem;

std::vector<std::string> GpuDeviceNodes() {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/dev", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("nvidia", 0) != 0) continue;
    const std::string rest = name.substr(6);
    if (rest == "ctl" || rest == "-uvm" || rest == "-uvm-tools" ||
        (!rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos)) {
      nodes.push_back(e.path().string());
    }
  }
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

int VisibleGpuCount() {
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES"); v != nullptr) {
    int n = 0;
    std::string s(v);
    std::stringstream ss(s);
    std::string entry;
    while (std::getline(ss, entry, ',')) {
      if (entry.empty() || entry[0] == '-') break;  // CUDA stops at an invalid entry
      ++n;
    }
    return n;
  }
  int n = 0;
  for (const auto& node : GpuDeviceNodes()) {
    const std::string rest = fs::path(node).filename().string().substr(6);
    if (!rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos) ++n;
  }
  return n;
}

namespace {

// Address space of a compile: 8 GiB for nvcc (its tools reserve large ranges). Far beyond what a
// kernel's compile uses; it stops a template bomb taking the machine.
constexpr unsigned long long kCompileAddressBytes = 8ull << 30;

class CudaBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::kCuda; }
  std::string name() const override { return "cuda"; }
  std::string_view worker_executable() const override { return "kforge-cuda-worker"; }
  std::string language() const override { return "CUDA"; }
  std::string ProgramExtension(const std::string&) const override { return ".cu"; }
  std::string FenceTag(const std::string&) const override { return "cuda"; }
  std::vector<std::string> AcceptedFenceTags() const override {
    return {"cuda", "cu", "cpp", "c++", "cuda-cpp"};
  }
  std::vector<std::string> SourceExtensions() const override { return {".cu"}; }

  int DeviceCount() const override { return VisibleGpuCount(); }
  std::vector<std::string> DeviceNodes() const override { return GpuDeviceNodes(); }
  std::string TorchDevice(int ordinal) const override { return "cuda:" + std::to_string(ordinal); }
  bool HasDeviceOrdinals() const override { return true; }
  bool MapsDeviceMemory() const override { return true; }
  bool MirrorsArena() const override { return true; }
  bool RunsOnHostCores() const override { return false; }

  Toolchain NativeToolchain(bool, bool, const std::vector<std::string>& libraries) const override {
    Toolchain t;
    const char* env = std::getenv("NVCC");
    t.compiler = env && *env ? env
                             : (fs::exists("/usr/local/cuda/bin/nvcc") ? "/usr/local/cuda/bin/nvcc"
                                                                       : "nvcc");
    const char* arch_env = std::getenv("KFORGE_CUDA_ARCH");
    const std::string arch = arch_env && *arch_env ? arch_env : "90a";
    // -H (through to the host compiler, which preprocesses host and device code) lists every
    // header opened, for the include check.
    t.flags = {"-O3",        "-std=c++17",    "-gencode=arch=compute_" + arch + ",code=sm_" + arch,
               "-lineinfo",  "-Xcompiler",    "-fPIC",
               "-Xcompiler", "-O1",           "-Xcompiler",
               "-H",         "-shared",       "-cudart",
               "shared",     "-Xptxas",       "-v",
               "-Xlinker",   "--no-undefined"};
    for (const auto& l : libraries) t.flags.push_back("-l" + l);
    // nvcc's host compiler too, found on PATH as nvcc finds it.
    t.visible_programs = {t.compiler, "gcc", "g++"};
    t.address_bytes = kCompileAddressBytes;
    return t;
  }
  nlohmann::json CompileResources(const std::string& log) const override {
    return ParsePtxasResources(log);
  }

  bool HasMachineCodeSummary() const override { return true; }
  nlohmann::json MachineCodeSummary(const fs::path& program) const override {
    return SassSummary(program);
  }
  bool HasProfiler() const override { return true; }
  Result<std::vector<std::string>> ProfilerPrefix(const fs::path& report) const override {
    const fs::path ncu = FindNcu();
    if (ncu.empty()) return Status::Error("Nsight Compute (ncu) is not installed here");
    return NcuPrefix(ncu, report);
  }
  Result<nlohmann::json> ReadProfile(const std::string& report) const override {
    auto summary = ParseNcuCsv(report);
    if (!summary.ok()) return summary.status();
    (*summary)["command"] =
        "ncu --clock-control none --cache-control all (one call at the bench "
        "sizes, the kernels inside the worker's kforge_call range)";
    return summary;
  }

  // Measured on this device by its worker, once per evaluator (or again when asked).
  Result<MeasuredCeilings> MeasureCeilings(const fs::path&, const CeilingsProbe& probe,
                                           const std::optional<Ceilings>& previous,
                                           bool remeasure) const override {
    if (previous && !remeasure) return MeasuredCeilings{*previous, nullptr};
    auto r = probe(120);
    if (!r.ok()) return Status::Error("measuring the GPU's ceilings: " + r.status().message());
    const nlohmann::json& body = *r;
    Ceilings c;
    c.copy_gbps = std::max(previous ? previous->copy_gbps : 0.0, body.value("copy_gbps", 0.0));
    c.gflops_per_unit =
        std::max({previous ? previous->gflops_per_unit : 0.0, body.value("fp32_gemm_gflops", 0.0),
                  body.value("bf16_gemm_gflops", 0.0)});
    c.fp32_gflops =
        std::max(previous ? previous->fp32_gflops : 0.0, body.value("fp32_gemm_gflops", 0.0));
    c.cores = 1;
    return MeasuredCeilings{c, body};
  }
  bool CopyCeilingPerUnit() const override { return false; }
};

}  // namespace

const Backend& Host() {
  static const CudaBackend backend;
  return backend;
}

}  // namespace kf::backends::cuda
