#include "eval/machine.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/sha256.h"

namespace kf::eval {
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

}  // namespace kf::eval
