#include "task/task_fields.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "task/expr.h"

namespace kf::task {

std::string Describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  return "a mapping";
}

Result<std::string> GetString(const Reader& r, const YAML::Node& parent, const std::string& key,
                              const std::string& field, bool required) {
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

}  // namespace kf::task
