#include "backends/cuda/nsight.h"

#include <cstdlib>
#include <map>
#include <sstream>

namespace kf::backends::cuda {
namespace fs = std::filesystem;

namespace {

const char* kMetrics[][2] = {
    {"gpu__time_duration.sum", "gpu_time"},
    {"dram__throughput.avg.pct_of_peak_sustained_elapsed", "dram_pct"},
    {"sm__throughput.avg.pct_of_peak_sustained_elapsed", "sm_pct"},
    {"sm__warps_active.avg.pct_of_peak_sustained_active", "occupancy_pct"},
    {"launch__registers_per_thread", "registers"},
    {"launch__grid_size", "grid"},
    {"launch__block_size", "block"},
    {"dram__bytes.sum", "dram_bytes"},
};

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(field);
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  out.push_back(field);
  return out;
}

double Number(std::string s) {
  std::string digits;
  for (char c : s)
    if (c != ',') digits += c;
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  return end && end != digits.c_str() ? v : 0;
}

// Scale to microseconds or bytes from the unit ncu printed.
double Scale(const std::string& unit) {
  static const std::map<std::string, double> k = {
      {"nsecond", 1e-3}, {"ns", 1e-3}, {"usecond", 1}, {"us", 1},  {"msecond", 1e3}, {"ms", 1e3},
      {"second", 1e6},   {"s", 1e6},   {"byte", 1},    {"B", 1},   {"Kbyte", 1e3},   {"KB", 1e3},
      {"Mbyte", 1e6},    {"MB", 1e6},  {"Gbyte", 1e9}, {"GB", 1e9}};
  auto it = k.find(unit);
  return it == k.end() ? 1 : it->second;
}

}  // namespace

fs::path FindNcu() {
  if (const char* v = std::getenv("KFORGE_NCU"); v && *v) return v;
  if (fs::exists("/usr/local/cuda/bin/ncu")) return "/usr/local/cuda/bin/ncu";
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (!dir.empty() && fs::exists(fs::path(dir) / "ncu")) return fs::path(dir) / "ncu";
    }
  }
  return {};
}

std::vector<std::string> NcuPrefix(const fs::path& ncu, const fs::path& report) {
  std::string metrics;
  for (const auto& m : kMetrics) metrics += (metrics.empty() ? "" : ",") + std::string(m[0]);
  return {ncu.string(), "--clock-control", "none",           "--cache-control",
          "all",        "--nvtx",          "--nvtx-include", "kforge_call/",
          "--metrics",  metrics,           "--csv",          "--page",
          "raw",        "--log-file",      report.string(),  "--target-processes",
          "all"};
}

Result<nlohmann::json> ParseNcuCsv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header, units;
  nlohmann::json kernels = nlohmann::json::array();
  double total_us = 0;
  while (std::getline(in, line)) {
    if (line.rfind("==", 0) == 0 || line.empty()) continue;
    auto fields = SplitCsvLine(line);
    if (header.empty()) {
      if (!fields.empty() && fields[0] == "ID") header = fields;
      continue;
    }
    if (fields.size() != header.size()) continue;
    if (units.empty() && fields[0].empty()) {
      units = fields;
      continue;
    }
    nlohmann::json k;
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "Kernel Name") k["name"] = fields[i];
      for (const auto& m : kMetrics) {
        if (header[i] != m[0]) continue;
        const double scale = units.empty() ? 1 : Scale(units[i]);
        const std::string key = m[1];
        if (key == "gpu_time") {
          k["gpu_time_us"] = Number(fields[i]) * scale;
        } else if (key == "dram_bytes") {
          k[key] = Number(fields[i]) * scale;
        } else {
          k[key] = Number(fields[i]);
        }
      }
    }
    if (!k.contains("gpu_time_us")) continue;
    total_us += k["gpu_time_us"].get<double>();
    kernels.push_back(k);
  }
  if (kernels.empty()) {
    return Status::Error("Nsight Compute profiled no kernel of the program" +
                         std::string(header.empty() ? " (no report table)" : ""));
  }
  return nlohmann::json{{"kernels", kernels}, {"gpu_time_us", total_us}};
}

}  // namespace kf::backends::cuda
