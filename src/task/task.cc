#include "task/task.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "task/expr.h"
#include "task/task_fields.h"
#include "task/torch_task.h"

namespace kf::task {
namespace fs = std::filesystem;

namespace {

// `params:` and `sizes:` into t.params, t.bench_sizes and t.check_sizes.
Status ParseParamsAndSizes(const Reader& r, const YAML::Node& root, Task& t) {
  auto params = ParseStringList(r, root["params"], "params");
  if (!params.ok()) return params.status();
  t.params = *params;
  std::set<std::string> seen_params;
  for (const auto& p : t.params) {
    if (!std::regex_match(p, std::regex("[A-Za-z_][A-Za-z0-9_]*"))) {
      return r.Fail("params", "expected identifiers, got '" + p + "'");
    }
    if (!seen_params.insert(p).second) return r.Fail("params", "'" + p + "' appears twice");
  }

  const YAML::Node sizes = root["sizes"];
  if (!sizes.IsMap()) return r.Fail("sizes", "missing; expected {bench: {...}, check: [...]}");
  if (auto s = CheckKeys(r, sizes, "sizes", {"bench", "check"}); !s.ok()) return s;
  auto bench = ParseSizes(r, sizes["bench"], "sizes.bench", t.params);
  if (!bench.ok()) return bench.status();
  t.bench_sizes = *bench;
  const YAML::Node check = sizes["check"];
  if (check.IsDefined() && !check.IsSequence()) return r.Fail("sizes.check", "expected a list");
  for (size_t i = 0; check.IsDefined() && i < check.size(); ++i) {
    auto s = ParseSizes(r, check[i], "sizes.check[" + std::to_string(i) + "]", t.params);
    if (!s.ok()) return s.status();
    t.check_sizes.push_back(*s);
  }
  return Status::Ok();
}

// `baselines:` (besides the initial program) into t.baselines; t.dir and t.backend are set.
Status ParseBaselines(const Reader& r, const YAML::Node& baselines, Task& t) {
  if (baselines.IsDefined() && !baselines.IsNull()) {
    if (!baselines.IsSequence()) {
      return r.Fail("baselines", "expected a list of {name, program, libraries}");
    }
    for (size_t i = 0; i < baselines.size(); ++i) {
      const std::string field = "baselines[" + std::to_string(i) + "]";
      const YAML::Node b = baselines[i];
      if (!b.IsMap()) return r.Fail(field, "expected {name, program, libraries}");
      if (auto st = CheckKeys(r, b, field, {"name", "program", "libraries"}); !st.ok()) return st;
      Baseline out;
      auto name = GetString(r, b, "name", field + ".name");
      if (!name.ok()) return name.status();
      out.name = *name;
      if (out.name == "initial" || out.name.empty() ||
          std::any_of(t.baselines.begin(), t.baselines.end(),
                      [&](const Baseline& o) { return o.name == out.name; })) {
        return r.Fail(field + ".name", "'" + out.name +
                                           "' is empty, taken, or 'initial' (the initial "
                                           "program's name)");
      }
      auto program = GetString(r, b, "program", field + ".program");
      if (!program.ok()) return program.status();
      out.program = t.dir / *program;
      if (!fs::is_regular_file(out.program)) {
        return r.Fail(field + ".program", "file '" + out.program.string() + "' does not exist");
      }
      if (b["libraries"].IsDefined()) {
        auto libs = ParseStringList(r, b["libraries"], field + ".libraries");
        if (!libs.ok()) return libs.status();
        for (const auto& l : *libs) {
          if (t.backend != backends::BackendKind::kCuda || (l != "cublas" && l != "cublasLt")) {
            return r.Fail(field + ".libraries", "'" + l + "' is not a library kforge links (" +
                                                    "CUDA tasks: cublas, cublasLt)");
          }
        }
        out.libraries = *libs;
      }
      t.baselines.push_back(out);
    }
  }
  return Status::Ok();
}

// `policy:` into t.policy and t.allows_threads.
Status ParsePolicy(const Reader& r, const YAML::Node& policy, Task& t) {
  if (policy.IsDefined() && !policy.IsNull()) {
    if (!policy.IsMap()) return r.Fail("policy", "expected {allow: [...], forbid: [...]}");
    if (auto s = CheckKeys(r, policy, "policy", {"allow", "forbid"}); !s.ok()) return s;
    auto allow = ParseStringList(r, policy["allow"], "policy.allow");
    if (!allow.ok()) return allow.status();
    auto forbid = ParseStringList(r, policy["forbid"], "policy.forbid");
    if (!forbid.ok()) return forbid.status();
    t.policy = {*allow, *forbid};
    if (auto s = eval::ValidateStaticPolicy(t.policy); !s.ok()) {
      // The message reads "policy.allow: what is wrong".
      const size_t colon = s.message().find(": ");
      if (colon == std::string::npos) return r.Fail("policy", s.message());
      return r.Fail(s.message().substr(0, colon), s.message().substr(colon + 2));
    }
  }
  t.allows_threads =
      std::find(t.policy.allow.begin(), t.policy.allow.end(), "threads") != t.policy.allow.end();
  return Status::Ok();
}

// `cost:` into t.flops_expr and t.bytes_expr, checked against t.params.
Status ParseCost(const Reader& r, const YAML::Node& cost, Task& t) {
  if (!cost.IsMap()) return r.Fail("cost", "missing; expected {flops: EXPR, bytes: EXPR}");
  if (auto s = CheckKeys(r, cost, "cost", {"flops", "bytes"}); !s.ok()) return s;
  for (auto [key, out] : {std::pair{"flops", &t.flops_expr}, {"bytes", &t.bytes_expr}}) {
    auto v = GetString(r, cost, key, std::string("cost.") + key);
    if (!v.ok()) return v.status();
    *out = *v;
    std::map<std::string, double> probe;
    for (const auto& p : t.params) probe[p] = 7;
    if (auto e = EvalExpr(*out, probe); !e.ok()) {
      return r.Fail(std::string("cost.") + key, e.status().message());
    }
  }
  return Status::Ok();
}

Result<Task> ParseTask(const Reader& r, const YAML::Node& root, const fs::path& dir) {
  if (!root.IsMap()) return r.Fail("(top level)", "expected a mapping, got " + Describe(root));
  static const std::set<std::string> kKnownKeys = {
      "name",    "description", "backend",       "entry",     "params", "sizes",
      "inputs",  "outputs",     "distributions", "tolerance", "cost",   "reference",
      "initial", "policy",      "determinism",   "baselines"};
  for (const auto& kv : root) {
    if (!kKnownKeys.count(kv.first.Scalar())) {
      return r.Fail(kv.first.Scalar(),
                    "unknown field (known: name, description, backend, entry, "
                    "params, sizes, inputs, outputs, distributions, tolerance, "
                    "cost, reference, initial, baselines, policy, determinism)");
    }
  }
  Task t;
  t.dir = fs::absolute(dir);
  std::string backend;  // parsed to t.backend here, the one place a backend's name is read
  auto get = [&](const char* key, std::string* out, bool required = true) -> Status {
    auto v = GetString(r, root, key, key, required);
    if (!v.ok()) return v.status();
    *out = *v;
    return Status::Ok();
  };
  for (auto [key, out] : {std::pair{"name", &t.name}, {"backend", &backend}, {"entry", &t.entry}}) {
    if (auto s = get(key, out); !s.ok()) return s;
  }
  if (auto s = get("description", &t.description, false); !s.ok()) return s;
  if (!std::regex_match(t.name, std::regex("[a-z0-9_]+"))) {
    return r.Fail("name", "expected lower-case letters, digits and '_', got '" + t.name + "'");
  }
  if (auto kind = backends::ParseBackendKind(backend); kind.ok()) {
    t.backend = *kind;
  } else {
    return r.Fail("backend", kind.status().message());
  }
  if (!std::regex_match(t.entry, std::regex("[A-Za-z_][A-Za-z0-9_]*"))) {
    return r.Fail("entry", "expected a C identifier, got '" + t.entry + "'");
  }

  if (auto s = ParseParamsAndSizes(r, root, t); !s.ok()) return s;

  for (auto [key, list, is_input] :
       {std::tuple{"inputs", &t.inputs, true}, {"outputs", &t.outputs, false}}) {
    const YAML::Node n = root[key];
    if (!n.IsSequence() || n.size() == 0) return r.Fail(key, "missing; expected a non-empty list");
    for (size_t i = 0; i < n.size(); ++i) {
      auto ts = ParseTensor(r, n[i], std::string(key) + "[" + std::to_string(i) + "]", t.params,
                            is_input);
      if (!ts.ok()) return ts.status();
      list->push_back(*ts);
    }
  }
  std::set<std::string> names;
  for (const char* key : {"inputs", "outputs"}) {
    for (const auto& ts : std::string(key) == "inputs" ? t.inputs : t.outputs) {
      if (!names.insert(ts.name).second) {
        return r.Fail(key, "duplicate buffer name '" + ts.name + "'");
      }
    }
  }

  const YAML::Node dists = root["distributions"];
  if (dists.IsDefined()) {
    if (!dists.IsSequence() || dists.size() == 0)
      return r.Fail("distributions", "expected a non-empty list");
    for (size_t i = 0; i < dists.size(); ++i) {
      auto d = ParseDistribution(r, dists[i], "distributions[" + std::to_string(i) + "]");
      if (!d.ok()) return d.status();
      t.distributions.push_back(*d);
    }
  } else {
    t.distributions.push_back({"normal", Distribution::Kind::kNormal, 0, 1, std::nullopt});
  }

  const YAML::Node tol = root["tolerance"];
  if (tol.IsDefined()) {
    auto tv = ParseTolerance(r, tol, "tolerance");
    if (!tv.ok()) return tv.status();
    t.tolerance = *tv;
  }

  if (auto s = ParseCost(r, root["cost"], t); !s.ok()) return s;

  for (auto [key, out] : {std::pair{"reference", &t.reference}, {"initial", &t.initial}}) {
    auto v = GetString(r, root, key, key);
    if (!v.ok()) return v.status();
    *out = t.dir / *v;
    if (!fs::is_regular_file(*out))
      return r.Fail(key, "file '" + out->string() + "' does not exist");
  }

  if (auto s = ParseBaselines(r, root["baselines"], t); !s.ok()) return s;

  if (auto s = ParsePolicy(r, root["policy"], t); !s.ok()) return s;

  const YAML::Node det = root["determinism"];
  if (det.IsDefined()) {
    if (!det.IsScalar() || (det.Scalar() != "exact" && det.Scalar() != "tolerance")) {
      return r.Fail("determinism", "expected 'exact' or 'tolerance', got " + Describe(det));
    }
    t.exact_determinism = det.Scalar() == "exact";
  }
  return t;
}

}  // namespace

Result<Task> LoadTask(const fs::path& dir, const Sizes& sizes, const std::string& dtype) {
  const fs::path file = dir / "task.yaml";
  if (dir.extension() == ".py" && fs::is_regular_file(dir)) {
    TorchSettings s;
    s.sizes = sizes;
    s.dtype = dtype;
    return LoadTorchTask(dir, s);
  }
  if (!fs::is_directory(dir)) return Status::Error(dir.string() + ": not a task directory");
  if (!fs::is_regular_file(file)) return Status::Error(file.string() + ": no such file");
  Reader r(file.string());
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return Status::Error(file.string() + ": not valid YAML: " + e.what());
  }
  if (root.IsMap() && root["pytorch"].IsDefined()) return LoadTorchTaskDir(dir, sizes, dtype);
  Result<Task> t = Status::Error("");
  try {
    t = ParseTask(r, root, dir);
  } catch (const YAML::Exception& e) {
    return Status::Error(file.string() + ": " + e.what());
  }
  if (!t.ok()) return t;
  if (!dtype.empty()) {
    return Status::Error("--dtype is for PyTorch tasks; task " + t->name +
                         " declares its buffers' dtypes in its task.yaml");
  }
  for (const auto& [name, value] : sizes) {
    if (std::find(t->params.begin(), t->params.end(), name) == t->params.end()) {
      std::string known;
      for (const auto& p : t->params) known += (known.empty() ? "" : ", ") + p;
      return Status::Error("--sizes names '" + name + "', which is not a size of task " + t->name +
                           " (its sizes: " + known + ")");
    }
    t->bench_sizes[name] = value;
  }
  return t;
}

Result<int64_t> Task::Elements(const TensorSpec& t, const Sizes& sizes) const {
  auto shape = Shape(t, sizes);
  if (!shape.ok()) return shape.status();
  int64_t n = 1;
  for (int64_t d : *shape) n *= d;
  return n;
}

Result<std::vector<int64_t>> Task::Shape(const TensorSpec& t, const Sizes& sizes) const {
  std::vector<int64_t> dims;
  for (const auto& e : t.shape) {
    auto v = EvalIntExpr(e, sizes);
    if (!v.ok()) return Status::Error("shape of '" + t.name + "': " + v.status().message());
    if (*v < 0)
      return Status::Error("shape of '" + t.name + "' is negative at " + SizesToString(sizes));
    dims.push_back(*v);
  }
  return dims;
}

static std::map<std::string, double> AsDoubles(const Sizes& sizes) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : sizes) out[k] = static_cast<double>(v);
  return out;
}

Result<double> Task::Flops(const Sizes& sizes) const {
  return EvalExpr(flops_expr, AsDoubles(sizes));
}
Result<double> Task::Bytes(const Sizes& sizes) const {
  return EvalExpr(bytes_expr, AsDoubles(sizes));
}

Distribution Task::InputDistribution(const TensorSpec& input, const Distribution& trial,
                                     const Sizes& sizes) const {
  if (!input.distribution) return trial;
  Distribution d = *input.distribution;
  if (d.low_expr.empty()) return d;
  // Validated at load time over every param; a bound that fails here keeps its probe-free value.
  if (auto v = EvalIntExpr(d.low_expr, sizes); v.ok()) d.a = static_cast<double>(*v);
  if (auto v = EvalIntExpr(d.high_expr, sizes); v.ok()) d.b = static_cast<double>(*v);
  d.b = std::max(d.a, d.b);
  return d;
}

Tolerance Task::ToleranceFor(const TensorSpec& output) const {
  if (tolerance) return *tolerance;
  switch (output.dtype) {
    case DType::kF32:
      return {1e-5, 1e-5, 1e-5};
    case DType::kF64:
      return {1e-12, 1e-12, 1e-12};
    case DType::kF16:
    case DType::kBF16:
      return {1e-2, 1e-2, 1e-2};
    default:
      return {0, 0, 0};
  }
}

std::vector<fs::path> FindTaskDirs(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::is_regular_file(root / "task.yaml")) out.push_back(root);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory() && fs::is_regular_file(it->path() / "task.yaml"))
      out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Sizes> ParseSizesArg(const std::string& text) {
  Sizes out;
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    char* end = nullptr;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (name.empty() || value.empty() || *end != '\0' || v <= 0) {
      return Status::Error("--sizes expects NAME=VALUE,... with positive integers, got '" + item +
                           "'");
    }
    out[name] = v;
  }
  if (out.empty()) return Status::Error("--sizes expects NAME=VALUE,...");
  return out;
}

std::string SizesToString(const Sizes& sizes) {
  std::string s;
  for (const auto& [k, v] : sizes) s += (s.empty() ? "" : ",") + k + "=" + std::to_string(v);
  return s;
}

}  // namespace kf::task
