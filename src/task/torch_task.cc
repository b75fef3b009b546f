#include "task/torch_task.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "util/files.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::task {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path SelfDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

std::string TaskName(const fs::path& file) {
  std::string s = file.stem().string();
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  if (s.empty()) s = "problem";
  return s;
}

Result<DType> DTypeOf(const json& spec, const std::string& what) {
  auto dt = ParseDType(spec.value("dtype", std::string()));
  if (!dt) return Status::Error(what + ": unsupported dtype " + spec.value("dtype", "?"));
  return *dt;
}

// A shape written with the module's constant names where a dimension equals exactly one of
// them (so prompts read like the problem), else the number.
std::vector<std::string> ShapeExprs(const json& shape, const Sizes& constants) {
  std::vector<std::string> out;
  for (const auto& d : shape) {
    const int64_t v = d.get<int64_t>();
    std::string name;
    int matches = 0;
    for (const auto& [k, value] : constants) {
      if (value == v) {
        name = k;
        ++matches;
      }
    }
    out.push_back(matches == 1 ? name : std::to_string(v));
  }
  return out;
}

}  // namespace

std::string DefaultPython() {
  if (const char* p = std::getenv("KFORGE_PYTHON"); p && *p) return p;
  const fs::path venv = SelfDir() / "torch-venv" / "bin" / "python3";
  std::error_code ec;
  if (fs::exists(venv, ec)) return venv.string();
  // python3 on the user's PATH, as an absolute path: workers start with a clean environment.
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const fs::path candidate = fs::path(dir) / "python3";
      if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "python3";
}

fs::path BridgeScript() {
  const fs::path beside = SelfDir() / "kforge_torch_bridge.py";
  std::error_code ec;
  if (fs::exists(beside, ec)) return beside;
  return fs::path(KFORGE_SOURCE_DIR) / "src" / "backends" / "torch" / "kforge_torch_bridge.py";
}

std::string NativeSignature(const Task& t) {
  const bool cuda = t.backend == backends::BackendKind::kCuda;
  auto ctype = [&](DType d) { return CTypeName(d, cuda); };
  std::string s = std::string(cuda ? "extern \"C\" " : "") + "void " + t.entry + "(";
  std::vector<std::string> args;
  for (const auto& in : t.inputs) args.push_back("const " + ctype(in.dtype) + "* " + in.name);
  for (const auto& out : t.outputs) args.push_back(ctype(out.dtype) + "* " + out.name);
  for (const auto& p : t.params) args.push_back("int64_t " + p);
  if (cuda) args.push_back("cudaStream_t stream");
  for (size_t i = 0; i < args.size(); ++i) s += (i ? ", " : "") + args[i];
  return s + ")";
}

Tolerance TorchTolerance(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return {1e-4, 1e-4, 1e-5};
    case DType::kF64:
      return {1e-10, 1e-10, 1e-10};
    case DType::kF16:
      return {1e-2, 1e-2, 1e-2};
    case DType::kBF16:
      // bfloat16 keeps 8 bits of mantissa: one rounding is up to 0.4%.
      return {2e-2, 2e-2, 2e-2};
    default:
      return {0, 0, 0};
  }
}

namespace {

// The last JSON object line of a probe's output (the module may print before it).
json LastJsonLine(const std::string& output) {
  json probe;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '{') {
      try {
        probe = json::parse(line);
      } catch (const json::exception&) {
      }
    }
  }
  return probe;
}

json SizesJson(const Sizes& sizes) {
  json j = json::object();
  for (const auto& [k, v] : sizes) j[k] = v;
  return j;
}

// The probe's options: {"sizes": {...}, "dtype": "bf16"}.
json ProbeOptions(const TorchSettings& s) {
  return {{"sizes", SizesJson(s.sizes)}, {"dtype", s.dtype}};
}

Result<Task> TaskFromProbe(const fs::path& problem, const fs::path& file,
                           const TorchSettings& settings, const std::string& python,
                           const json& probe);

// A probe depends on the module's text, the options, the interpreter and the bridge script.
fs::path ProbeCachePath(const fs::path& file, const TorchSettings& s, const std::string& python) {
  return CacheRoot() / "probes" /
         (Sha256Hex(ReadFile(file) + "\n" + ProbeOptions(s).dump() + "\n" + python + "\n" +
                    ReadFile(BridgeScript())) +
          ".json");
}

void StoreProbe(const fs::path& path, const json& probe) {
  if (!probe.is_object() || probe.contains("error")) return;
  // Written whole, then renamed: a reader never sees half a file.
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + "." + std::to_string(getpid()) + "." +
                       std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  std::ofstream(tmp) << probe.dump();
  fs::rename(tmp, path, ec);
}

}  // namespace

Result<Task> LoadTorchTask(const fs::path& problem, const TorchSettings& settings) {
  std::error_code ec;
  const fs::path file = fs::absolute(problem, ec);
  if (!fs::is_regular_file(file, ec)) return Status::Error(problem.string() + ": no such file");
  const std::string python = settings.python.empty() ? DefaultPython() : settings.python;
  // The result of an earlier identical probe is reused (a probe costs a torch import).
  const fs::path cached = ProbeCachePath(file, settings, python);
  if (fs::exists(cached, ec)) {
    try {
      const json probe = json::parse(ReadFile(cached));
      if (probe.is_object() && !probe.contains("error"))
        return TaskFromProbe(problem, file, settings, python, probe);
    } catch (const json::exception&) {
    }
  }
  std::vector<std::string> argv = {python, BridgeScript().string(), "--probe", file.string(),
                                   ProbeOptions(settings).dump()};
  auto run = RunCommand(argv, 600, 1 << 20, file.parent_path().string());
  if (!run.ok()) {
    return Status::Error(problem.string() + ": cannot run " + python + ": " +
                         run.status().message());
  }
  if (run->timed_out) {
    return Status::Error(problem.string() + ": probing the module did not finish in 600 s");
  }
  const json probe = LastJsonLine(run->output);
  if (!probe.is_object()) {
    std::string tail =
        run->output.substr(run->output.size() > 1500 ? run->output.size() - 1500 : 0);
    return Status::Error(problem.string() + ": probing the module with " + python + " failed (" +
                         run->exit.Describe() + "): " + tail);
  }
  StoreProbe(cached, probe);
  return TaskFromProbe(problem, file, settings, python, probe);
}

std::vector<Result<Task>> LoadTorchTasks(const std::vector<fs::path>& problems,
                                         const TorchSettings& settings, int jobs) {
  const std::string python = settings.python.empty() ? DefaultPython() : settings.python;
  std::vector<json> probes(problems.size());
  std::vector<std::string> failures(problems.size());
  // Probes the problems `chunk` in one process; fills probes[] for those it reported.
  auto probe_chunk = [&](const std::vector<size_t>& chunk) {
    std::vector<std::string> argv = {python, BridgeScript().string(), "--probe-many",
                                     ProbeOptions(settings).dump()};
    std::map<std::string, size_t> index;
    for (size_t i : chunk) {
      argv.push_back(fs::absolute(problems[i]).string());
      index[argv.back()] = i;
    }
    auto run = RunCommand(argv, 600.0 + 60.0 * chunk.size(), 64 << 20);
    if (!run.ok()) {
      for (size_t i : chunk) failures[i] = "cannot run " + python + ": " + run.status().message();
      return;
    }
    std::istringstream lines(run->output);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] != '{') continue;
      try {
        json j = json::parse(line);
        if (auto it = index.find(j.value("file", "")); it != index.end()) probes[it->second] = j;
      } catch (const json::exception&) {
      }
    }
    const std::string tail =
        run->output.substr(run->output.size() > 1500 ? run->output.size() - 1500 : 0);
    for (size_t i : chunk) {
      failures[i] = run->timed_out ? "probing the module did not finish in time"
                                   : "probing the module with " + python + " failed (" +
                                         run->exit.Describe() + "): " + tail;
    }
  };
  auto in_parallel = [&](const std::vector<std::vector<size_t>>& chunks) {
    std::vector<std::thread> threads;
    for (const auto& chunk : chunks) threads.emplace_back(probe_chunk, chunk);
    for (auto& t : threads) t.join();
  };
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(problems.size())));
  // Round-robin chunks: neighbouring files (a level's RNNs) are often alike in cost.
  std::vector<std::vector<size_t>> chunks(jobs);
  for (size_t i = 0; i < problems.size(); ++i) chunks[i % jobs].push_back(i);
  in_parallel(chunks);
  // A module that kills its process leaves the rest of its chunk unprobed: each of those again
  // alone, so that only the culprit fails, with what it did.
  std::vector<size_t> missing;
  for (size_t i = 0; i < problems.size(); ++i) {
    if (!probes[i].is_object()) missing.push_back(i);
  }
  for (size_t at = 0; at < missing.size(); at += jobs) {
    std::vector<std::vector<size_t>> alone;
    for (size_t k = at; k < std::min(missing.size(), at + jobs); ++k) alone.push_back({missing[k]});
    in_parallel(alone);
  }
  std::vector<Result<Task>> out;
  for (size_t i = 0; i < problems.size(); ++i) {
    if (!probes[i].is_object()) {
      out.push_back(Status::Error(problems[i].string() + ": " + failures[i]));
      continue;
    }
    TorchSettings s = settings;
    s.sizes.clear();
    const json applied = probes[i].value("sizes", json::object());  // outlives the loop
    for (const auto& [k, v] : applied.items()) s.sizes[k] = v.get<int64_t>();
    StoreProbe(ProbeCachePath(fs::absolute(problems[i]), s, python), probes[i]);
    out.push_back(TaskFromProbe(problems[i], fs::absolute(problems[i]), s, python, probes[i]));
  }
  return out;
}

namespace {

Result<Task> TaskFromProbe(const fs::path& problem, const fs::path& file,
                           const TorchSettings& settings, const std::string& python,
                           const json& probe) {
  std::error_code ec;
  if (probe.contains("error")) {
    return Status::Error(problem.string() + ": " + probe["error"].get<std::string>());
  }

  Task t;
  t.dir = file.parent_path();
  t.name = settings.name.empty() ? TaskName(file) : settings.name;
  t.description = settings.description.empty() ? probe.value("description", std::string())
                                               : settings.description;
  if (t.description.empty()) t.description = "PyTorch module " + file.filename().string();
  // A native program sees tensors only: the scalars forward also takes are part of the task.
  for (const auto& s : probe.value("scalars", json::array())) {
    t.description += " (forward's " + s.value("name", std::string("input")) + " = " +
                     s["value"].dump() + " in every call)";
  }
  if (settings.backend.empty()) {
    t.backend = fs::exists("/dev/nvidiactl", ec) ? backends::BackendKind::kCuda
                                                 : backends::BackendKind::kCpu;
  } else if (auto kind = backends::ParseBackendKind(settings.backend); kind.ok()) {
    t.backend = *kind;
  } else {
    return Status::Error("backend: " + kind.status().message());
  }
  t.entry = "forward";
  // PyTorch's own kernels are not all bitwise deterministic (cuDNN's transposed 3-D
  // convolutions add with atomics): a second run is checked against the reference instead.
  t.exact_determinism = false;
  std::set<std::string> seen;
  for (const auto& c : probe["constants"]) {
    const std::string name = c["name"];
    if (!std::regex_match(name, std::regex("[A-Za-z_][A-Za-z0-9_]*")) || !seen.insert(name).second)
      continue;
    t.params.push_back(name);
    t.bench_sizes[name] = c["value"].get<int64_t>();
  }
  double bytes = 0;
  for (auto [key, list] :
       {std::pair{"inputs", &t.inputs}, {"params", &t.inputs}, {"outputs", &t.outputs}}) {
    for (const auto& spec : probe[key]) {
      TensorSpec ts;
      ts.name = spec["name"];
      auto dt = DTypeOf(spec, problem.string() + ": " + ts.name);
      if (!dt.ok()) return dt.status();
      ts.dtype = *dt;
      ts.shape = ShapeExprs(spec["shape"], t.bench_sizes);
      double n = 1;
      for (const auto& d : spec["shape"]) n *= d.get<double>();
      if (std::string(key) != "params") bytes += n * DTypeSize(ts.dtype);
      list->push_back(ts);
    }
  }
  // Names must be distinct C identifiers: a forward argument named like a parameter is renamed.
  std::set<std::string> names(t.params.begin(), t.params.end());
  for (auto* list : {&t.inputs, &t.outputs}) {
    for (auto& ts : *list) {
      while (!names.insert(ts.name).second) ts.name += "_";
    }
  }
  t.distributions = {Distribution{"get_inputs", Distribution::Kind::kNormal, 0, 1, std::nullopt},
                     Distribution{"get_inputs", Distribution::Kind::kNormal, 0, 1, std::nullopt}};
  t.tolerance = settings.tolerance ? *settings.tolerance : TorchTolerance(t.outputs[0].dtype);
  std::ostringstream f, b;
  f.precision(17);
  b.precision(17);
  f << probe.value("flops", 0.0);
  b << bytes;
  t.flops_expr = f.str();
  t.bytes_expr = b.str();
  TorchModule m;
  m.file = file;
  m.python = python;
  m.forward_inputs = probe["inputs"].size();
  m.init_inputs = probe["init_inputs"].dump();
  m.scalars = probe.value("scalars", json::array()).dump();
  m.baselines = settings.baselines;
  m.source = ReadFile(file);
  m.sizes = settings.sizes;
  m.dtype = probe.value("dtype", std::string());
  t.torch = m;
  return t;
}

}  // namespace

Result<Task> LoadTorchTaskDir(const fs::path& dir, const Sizes& sizes, const std::string& dtype) {
  const fs::path yaml = dir / "task.yaml";
  auto fail = [&](const std::string& field, const std::string& what) {
    return Status::Error(yaml.string() + ": field '" + field + "': " + what);
  };
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml.string());
  } catch (const YAML::Exception& e) {
    return Status::Error(yaml.string() + ": not valid YAML: " + e.what());
  }
  static const std::set<std::string> kKnown = {"name",      "description", "pytorch",
                                               "backend",   "python",      "tolerance",
                                               "baselines", "sizes",       "dtype"};
  for (const auto& kv : root) {
    if (!kKnown.count(kv.first.Scalar())) {
      return fail(kv.first.Scalar(),
                  "unknown field for a PyTorch task (known: name, description, pytorch, "
                  "backend, python, tolerance, baselines, sizes, dtype)");
    }
  }
  TorchSettings s;
  auto scalar = [&](const char* key, std::string* out) -> Status {
    const YAML::Node n = root[key];
    if (!n.IsDefined() || n.IsNull()) return Status::Ok();
    if (!n.IsScalar()) return fail(key, "expected a string");
    *out = n.Scalar();
    return Status::Ok();
  };
  std::string module;
  for (auto [key, out] : {std::pair{"pytorch", &module},
                          {"name", &s.name},
                          {"backend", &s.backend},
                          {"python", &s.python},
                          {"description", &s.description},
                          {"dtype", &s.dtype}}) {
    if (auto st = scalar(key, out); !st.ok()) return st;
  }
  if (module.empty()) return fail("pytorch", "missing; expected the module's file name");
  if (!s.name.empty() && !std::regex_match(s.name, std::regex("[a-z0-9_]+"))) {
    return fail("name", "expected lower-case letters, digits and '_', got '" + s.name + "'");
  }
  if (!s.backend.empty()) {
    if (auto kind = backends::ParseBackendKind(s.backend); !kind.ok()) {
      return fail("backend", kind.status().message());
    }
  }
  if (const YAML::Node tol = root["tolerance"]; tol.IsDefined()) {
    if (!tol.IsMap()) return fail("tolerance", "expected {atol, rtol, rel_norm}");
    Tolerance tv;
    for (auto [key, out] :
         {std::pair{"atol", &tv.atol}, {"rtol", &tv.rtol}, {"rel_norm", &tv.rel_norm}}) {
      try {
        *out = tol[key].as<double>();
      } catch (const YAML::Exception&) {
        return fail(std::string("tolerance.") + key, "missing or not a number");
      }
      if (*out < 0) return fail(std::string("tolerance.") + key, "expected >= 0");
    }
    s.tolerance = tv;
  }
  if (const YAML::Node bl = root["baselines"]; bl.IsDefined()) {
    if (!bl.IsSequence()) return fail("baselines", "expected a list such as [compile]");
    s.baselines.clear();
    for (const auto& b : bl) {
      const std::string v = b.IsScalar() ? b.Scalar() : "";
      if (v != "compile" && v.rfind("compile:", 0) != 0) {
        return fail("baselines", "expected 'compile' or 'compile:MODE', got '" + v + "'");
      }
      s.baselines.push_back(v);
    }
  }
  if (const YAML::Node sz = root["sizes"]; sz.IsDefined()) {
    if (!sz.IsMap()) return fail("sizes", "expected a map such as {batch_size: 16}");
    for (const auto& kv : sz) {
      int64_t v = 0;
      try {
        v = kv.second.as<int64_t>();
      } catch (const YAML::Exception&) {
        v = 0;
      }
      if (v <= 0) return fail("sizes." + kv.first.Scalar(), "expected a positive integer");
      s.sizes[kv.first.Scalar()] = v;
    }
  }
  for (const auto& [k, v] : sizes) s.sizes[k] = v;
  if (!dtype.empty()) s.dtype = dtype;
  return LoadTorchTask(dir / module, s);
}

}  // namespace kf::task
