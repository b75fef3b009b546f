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
#include "task/torch_task.h"

namespace kf::task {
namespace fs = std::filesystem;

namespace {

// Turns the first problem found in a task.yaml into an error naming file and field.
struct TaskError {
  std::string field;
  std::string what;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Fail(const std::string& field, const std::string& what) const {
    return Status::Error(file_ + ": field '" + field + "': " + what);
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

std::string Describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  return "a mapping";
}

Result<std::string> GetString(const Reader& r, const YAML::Node& parent, const std::string& key,
                              const std::string& field, bool required = true) {
  const YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) {
    if (!required) return std::string();
    return r.Fail(field, "missing; expected a string");
  }
  if (!n.IsScalar()) return r.Fail(field, "expected a string, got " + Describe(n));
  return n.Scalar();
}

// Rejects keys outside `known`, so a typo in a nested field is an error, not silently ignored.
Status CheckKeys(const Reader& r, const YAML::Node& n, const std::string& field,
                 const std::set<std::string>& known) {
  if (!n.IsMap()) return Status::Ok();
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return r.Fail(field.empty() ? key : field + "." + key, "unknown field (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<double> ParseNumber(const Reader& r, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) return r.Fail(field, "expected a number, got " + Describe(n));
  try {
    size_t used = 0;
    double v = std::stod(n.Scalar(), &used);
    if (used != n.Scalar().size()) throw std::invalid_argument("trailing");
    if (!std::isfinite(v))
      return r.Fail(field, "expected a finite number, got '" + n.Scalar() + "'");
    return v;
  } catch (const std::exception&) {
    return r.Fail(field, "expected a number, got '" + n.Scalar() + "'");
  }
}

Result<Sizes> ParseSizes(const Reader& r, const YAML::Node& n, const std::string& field,
                         const std::vector<std::string>& params) {
  if (!n.IsMap()) return r.Fail(field, "expected a mapping of params to sizes, got " + Describe(n));
  Sizes sizes;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (std::find(params.begin(), params.end(), key) == params.end()) {
      return r.Fail(
          field + "." + key, "unknown param (declared params: " + [&] {
            std::string s;
            for (const auto& p : params) s += (s.empty() ? "" : ", ") + p;
            return s;
          }() + ")");
    }
    auto v = ParseNumber(r, kv.second, field + "." + key);
    if (!v.ok()) return v.status();
    if (*v < 1 || *v != static_cast<double>(static_cast<int64_t>(*v)) || *v > 1e12) {
      return r.Fail(field + "." + key,
                    "expected a positive integer, got '" + kv.second.Scalar() + "'");
    }
    sizes[key] = static_cast<int64_t>(*v);
  }
  for (const auto& p : params) {
    if (!sizes.count(p)) return r.Fail(field, "missing a value for param '" + p + "'");
  }
  return sizes;
}

Result<Tolerance> ParseTolerance(const Reader& r, const YAML::Node& tol, const std::string& field) {
  if (!tol.IsMap()) return r.Fail(field, "expected {atol, rtol, rel_norm}");
  if (auto s = CheckKeys(r, tol, field, {"atol", "rtol", "rel_norm"}); !s.ok()) return s;
  Tolerance tv;
  for (auto [key, out] :
       {std::pair{"atol", &tv.atol}, {"rtol", &tv.rtol}, {"rel_norm", &tv.rel_norm}}) {
    if (!tol[key].IsDefined()) return r.Fail(field + "." + key, "missing; expected a number");
    auto v = ParseNumber(r, tol[key], field + "." + key);
    if (!v.ok()) return v.status();
    if (*v < 0) return r.Fail(field + "." + key, "expected a non-negative number");
    *out = *v;
  }
  return tv;
}

Result<Distribution> ParseDistribution(const Reader& r, const YAML::Node& n,
                                       const std::string& field) {
  Distribution d;
  if (n.IsScalar()) {
    d.name = n.Scalar();
    if (d.name == "normal") {
      d = {d.name, Distribution::Kind::kNormal, 0, 1, std::nullopt};
    } else if (d.name == "uniform") {
      d = {d.name, Distribution::Kind::kUniform, -1, 1, std::nullopt};
    } else if (d.name == "large") {
      d = {d.name, Distribution::Kind::kNormal, 0, 100, std::nullopt};
    } else if (d.name == "small") {
      d = {d.name, Distribution::Kind::kNormal, 0, 1e-3, std::nullopt};
    } else if (d.name == "positive") {
      d = {d.name, Distribution::Kind::kUniform, 0.5, 2, std::nullopt};
    } else if (d.name == "offset") {
      // Real data is rarely centred: a large mean with a small spread breaks one-pass variance
      // and other shortcuts that are exact only around zero.
      d = {d.name, Distribution::Kind::kNormal, 3, 1, std::nullopt};
    } else {
      return r.Fail(field, "unknown distribution '" + d.name +
                               "' (expected normal, uniform, large, small, positive, offset, "
                               "{normal: {mean, std}} or {uniform: {low, high}})");
    }
    return d;
  }
  if (n.IsMap() && n.size() == 2 && n["tolerance"].IsDefined()) {
    // {KIND: {...}, tolerance: {atol, rtol, rel_norm}}: the distribution, with its own tolerance.
    YAML::Node kind_only(YAML::NodeType::Map);
    for (const auto& kv : n) {
      if (kv.first.Scalar() != "tolerance") kind_only[kv.first] = kv.second;
    }
    auto d = ParseDistribution(r, kind_only, field);
    if (!d.ok()) return d.status();
    auto tol = ParseTolerance(r, n["tolerance"], field + ".tolerance");
    if (!tol.ok()) return tol.status();
    d->tolerance = *tol;
    return d;
  }
  if (n.IsMap() && n.size() == 1) {
    const std::string kind = n.begin()->first.Scalar();
    const YAML::Node args = n.begin()->second;
    if (auto s = CheckKeys(r, args, field + "." + kind,
                           kind == "normal" ? std::set<std::string>{"mean", "std"}
                                            : std::set<std::string>{"low", "high"});
        !s.ok()) {
      return s;
    }
    auto arg = [&](const char* key, double def) -> Result<double> {
      if (!args.IsMap() || !args[key].IsDefined()) return def;
      return ParseNumber(r, args[key], field + "." + kind + "." + key);
    };
    // A uniform bound that is not a number is an expression over the params (integer inputs
    // only; ParseTensor checks both).
    auto bound_expr = [&](const char* key) -> std::string {
      if (kind != "uniform" || !args.IsMap() || !args[key].IsScalar()) return "";
      const std::string text = args[key].Scalar();
      char* end = nullptr;
      std::strtod(text.c_str(), &end);
      return end != text.c_str() && *end == '\0' ? "" : text;
    };
    if (kind == "normal") {
      auto mean = arg("mean", 0), std = arg("std", 1);
      if (!mean.ok()) return mean.status();
      if (!std.ok()) return std.status();
      if (*std <= 0) return r.Fail(field + ".normal.std", "expected a positive number");
      std::ostringstream name;
      name << "normal(mean=" << *mean << ",std=" << *std << ")";
      return Distribution{name.str(), Distribution::Kind::kNormal, *mean, *std, std::nullopt};
    }
    if (kind == "uniform" && (!bound_expr("low").empty() || !bound_expr("high").empty())) {
      Distribution d{"", Distribution::Kind::kUniform, 0, 0, std::nullopt};
      for (auto [key, expr, value] :
           {std::tuple{"low", &d.low_expr, &d.a}, std::tuple{"high", &d.high_expr, &d.b}}) {
        *expr = bound_expr(key);
        if (!expr->empty()) continue;
        auto v = arg(key, 0);
        if (!v.ok()) return v.status();
        *expr = args[key].IsDefined() ? args[key].Scalar() : "0";
        *value = *v;
      }
      d.name = "uniform(low=" + d.low_expr + ",high=" + d.high_expr + ")";
      return d;
    }
    if (kind == "uniform") {
      auto lo = arg("low", -1), hi = arg("high", 1);
      if (!lo.ok()) return lo.status();
      if (!hi.ok()) return hi.status();
      if (*hi <= *lo) return r.Fail(field + ".uniform", "expected low < high");
      std::ostringstream name;
      name << "uniform(low=" << *lo << ",high=" << *hi << ")";
      return Distribution{name.str(), Distribution::Kind::kUniform, *lo, *hi, std::nullopt};
    }
  }
  return r.Fail(field, "expected a distribution name or {normal: {...}} / {uniform: {...}}, got " +
                           Describe(n));
}

Result<TensorSpec> ParseTensor(const Reader& r, const YAML::Node& n, const std::string& field,
                               const std::vector<std::string>& params, bool is_input) {
  if (!n.IsMap())
    return r.Fail(field, "expected a mapping {name, dtype, shape}, got " + Describe(n));
  if (auto s = CheckKeys(r, n, field, {"name", "dtype", "shape", "distribution", "range"}); !s.ok())
    return s;
  TensorSpec t;
  auto name = GetString(r, n, "name", field + ".name");
  if (!name.ok()) return name.status();
  t.name = *name;
  if (!std::regex_match(t.name, std::regex("[A-Za-z_][A-Za-z0-9_]*"))) {
    return r.Fail(field + ".name", "expected an identifier, got '" + t.name + "'");
  }
  auto dtype = GetString(r, n, "dtype", field + ".dtype");
  if (!dtype.ok()) return dtype.status();
  auto parsed = ParseDType(*dtype);
  if (!parsed)
    return r.Fail(field + ".dtype",
                  "expected one of f32, f64, i32, i64, f16, bf16, got '" + *dtype + "'");
  t.dtype = *parsed;
  const YAML::Node shape = n["shape"];
  if (!shape.IsSequence() || shape.size() == 0) {
    return r.Fail(field + ".shape", "expected a non-empty list of sizes, got " + Describe(shape));
  }
  const std::set<std::string> known(params.begin(), params.end());
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::string dim_field = field + ".shape[" + std::to_string(i) + "]";
    if (!shape[i].IsScalar()) return r.Fail(dim_field, "expected a size expression");
    const std::string expr = shape[i].Scalar();
    for (const auto& sym : ExprSymbols(expr)) {
      if (!known.count(sym))
        return r.Fail(dim_field, "unknown param '" + sym + "' in '" + expr + "'");
    }
    Sizes ones;
    for (const auto& p : params) ones[p] = 7;
    auto probe = EvalIntExpr(expr, ones);
    if (!probe.ok()) return r.Fail(dim_field, probe.status().message());
    t.shape.push_back(expr);
  }
  if (n["distribution"].IsDefined()) {
    if (!is_input) return r.Fail(field + ".distribution", "only inputs have distributions");
    auto d = ParseDistribution(r, n["distribution"], field + ".distribution");
    if (!d.ok()) return d.status();
    if (!d->low_expr.empty()) {
      if (t.dtype != DType::kI32 && t.dtype != DType::kI64) {
        return r.Fail(field + ".distribution",
                      "a range given by expressions is for integer inputs (i32, i64)");
      }
      Sizes probe;
      for (const auto& p : params) probe[p] = 7;
      for (const std::string& expr : {d->low_expr, d->high_expr}) {
        for (const auto& sym : ExprSymbols(expr)) {
          if (!known.count(sym)) {
            return r.Fail(field + ".distribution", "unknown param '" + sym + "' in '" + expr + "'");
          }
        }
        if (auto v = EvalIntExpr(expr, probe); !v.ok()) {
          return r.Fail(field + ".distribution", v.status().message());
        }
      }
    }
    t.distribution = *d;
  }
  if (const YAML::Node range = n["range"]; range.IsDefined()) {
    const std::string range_field = field + ".range";
    if (!is_input || (t.dtype != DType::kI32 && t.dtype != DType::kI64)) {
      return r.Fail(range_field, "only integer inputs (i32, i64) have a range");
    }
    if (!range.IsSequence() || range.size() != 2) {
      return r.Fail(range_field, "expected [low, high], got " + Describe(range));
    }
    Sizes probe;
    for (const auto& p : params) probe[p] = 7;
    for (size_t i = 0; i < 2; ++i) {
      if (!range[i].IsScalar()) return r.Fail(range_field, "expected [low, high] expressions");
      const std::string expr = range[i].Scalar();
      for (const auto& sym : ExprSymbols(expr)) {
        if (!known.count(sym)) {
          return r.Fail(range_field, "unknown param '" + sym + "' in '" + expr + "'");
        }
      }
      if (auto v = EvalIntExpr(expr, probe); !v.ok())
        return r.Fail(range_field, v.status().message());
      t.range.push_back(expr);
    }
  }
  return t;
}

Result<std::vector<std::string>> ParseStringList(const Reader& r, const YAML::Node& n,
                                                 const std::string& field) {
  std::vector<std::string> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) return r.Fail(field, "expected a list, got " + Describe(n));
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) return r.Fail(field + "[" + std::to_string(i) + "]", "expected a string");
    out.push_back(n[i].Scalar());
  }
  return out;
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
  auto get = [&](const char* key, std::string* out, bool required = true) -> Status {
    auto v = GetString(r, root, key, key, required);
    if (!v.ok()) return v.status();
    *out = *v;
    return Status::Ok();
  };
  for (auto [key, out] :
       {std::pair{"name", &t.name}, {"backend", &t.backend}, {"entry", &t.entry}}) {
    if (auto s = get(key, out); !s.ok()) return s;
  }
  if (auto s = get("description", &t.description, false); !s.ok()) return s;
  if (!std::regex_match(t.name, std::regex("[a-z0-9_]+"))) {
    return r.Fail("name", "expected lower-case letters, digits and '_', got '" + t.name + "'");
  }
  if (t.backend != "cpu" && t.backend != "cuda") {
    return r.Fail("backend", "expected 'cpu' or 'cuda', got '" + t.backend + "'");
  }
  if (!std::regex_match(t.entry, std::regex("[A-Za-z_][A-Za-z0-9_]*"))) {
    return r.Fail("entry", "expected a C identifier, got '" + t.entry + "'");
  }

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

  const YAML::Node cost = root["cost"];
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

  for (auto [key, out] : {std::pair{"reference", &t.reference}, {"initial", &t.initial}}) {
    auto v = GetString(r, root, key, key);
    if (!v.ok()) return v.status();
    *out = t.dir / *v;
    if (!fs::is_regular_file(*out))
      return r.Fail(key, "file '" + out->string() + "' does not exist");
  }

  const YAML::Node baselines = root["baselines"];
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
          if (t.backend != "cuda" || (l != "cublas" && l != "cublasLt")) {
            return r.Fail(field + ".libraries", "'" + l + "' is not a library kforge links (" +
                                                    "CUDA tasks: cublas, cublasLt)");
          }
        }
        out.libraries = *libs;
      }
      t.baselines.push_back(out);
    }
  }

  const YAML::Node policy = root["policy"];
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
