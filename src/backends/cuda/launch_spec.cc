#include "backends/cuda/launch_spec.h"

#include <algorithm>
#include <sstream>

#include "task/expr.h"

namespace kf::backends::cuda {
namespace {

// Splits "a,(b,c),d" at commas outside parentheses and angle brackets.
std::vector<std::string> SplitDims(const std::string& v) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : v) {
    if (c == '(' || c == '<') ++depth;
    if (c == ')' || c == '>') --depth;
    if (c == ',' && depth == 0) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string Where(int line) { return "launch declaration on line " + std::to_string(line); }

Status CheckSymbols(const std::string& expr, const std::vector<std::string>& params, int line) {
  if (params.empty()) return Status::Ok();
  for (const auto& s : task::ExprSymbols(expr)) {
    if (std::find(params.begin(), params.end(), s) == params.end()) {
      std::string known;
      for (const auto& p : params) known += (known.empty() ? "" : ", ") + p;
      return Status::Error(Where(line) + ": '" + expr + "' uses '" + s +
                           "', which is not a size param of the task (known: " + known + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsKernelOnly(std::string_view source) {
  std::istringstream in{std::string(source)};
  std::string line;
  while (std::getline(in, line)) {
    const size_t c = line.find_first_not_of(" \t");
    if (c == std::string::npos || line.compare(c, 2, "//") != 0) continue;
    const size_t m = line.find_first_not_of(" \t/", c);
    if (m != std::string::npos && line.compare(m, kLaunchMarker.size(), kLaunchMarker) == 0)
      return true;
  }
  return false;
}

Result<std::vector<LaunchSpec>> ParseLaunchSpecs(std::string_view source,
                                                 const std::vector<std::string>& params) {
  std::vector<LaunchSpec> specs;
  std::istringstream in{std::string(source)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const size_t c = line.find_first_not_of(" \t");
    if (c == std::string::npos || line.compare(c, 2, "//") != 0) continue;
    const size_t m = line.find_first_not_of(" \t/", c);
    if (m == std::string::npos || line.compare(m, kLaunchMarker.size(), kLaunchMarker) != 0)
      continue;
    LaunchSpec s;
    s.line = number;
    bool has_grid = false, has_block = false;
    std::istringstream fields(line.substr(m + kLaunchMarker.size()));
    std::string field;
    while (fields >> field) {
      const size_t eq = field.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == field.size()) {
        return Status::Error(Where(number) + ": expected key=value, got '" + field +
                             "' (keys: kernel, grid, block, shared; no spaces inside a value)");
      }
      const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
      if (key == "kernel") {
        s.kernel = value;
      } else if (key == "grid" || key == "block") {
        auto dims = SplitDims(value);
        if (dims.size() > 3 ||
            std::any_of(dims.begin(), dims.end(), [](const std::string& d) { return d.empty(); })) {
          return Status::Error(Where(number) + ": " + key + " takes 1 to 3 comma-separated " +
                               "expressions (x,y,z), got '" + value + "'");
        }
        (key == "grid" ? s.grid : s.block) = dims;
        (key == "grid" ? has_grid : has_block) = true;
      } else if (key == "shared") {
        s.shared = value;
      } else {
        return Status::Error(Where(number) + ": unknown key '" + key +
                             "' (keys: kernel, grid, block, shared)");
      }
    }
    if (s.kernel.empty() || !has_grid || !has_block) {
      return Status::Error(Where(number) + ": needs kernel=, grid= and block= (shared= is " +
                           "optional), e.g. `// kforge-launch: kernel=my_kernel " +
                           "grid=(n+255)/256 block=256`");
    }
    std::vector<std::string> exprs = s.grid;
    exprs.insert(exprs.end(), s.block.begin(), s.block.end());
    exprs.push_back(s.shared);
    for (const auto& e : exprs) {
      if (auto st = CheckSymbols(e, params, number); !st.ok()) return st;
      // Syntax only: every symbol bound to 1.
      std::map<std::string, int64_t> ones;
      for (const auto& sym : task::ExprSymbols(e)) ones[sym] = 1;
      if (auto v = task::EvalIntExpr(e, ones);
          !v.ok() && v.status().message().find("division by zero") == std::string::npos) {
        return Status::Error(Where(number) + ": " + v.status().message());
      }
    }
    specs.push_back(std::move(s));
  }
  if (specs.empty()) {
    return Status::Error(
        "no launch declaration (`// kforge-launch: kernel=NAME grid=... "
        "block=...`): a kernel-only program must declare what to launch");
  }
  return specs;
}

Result<nlohmann::json> EvaluateLaunches(const std::vector<LaunchSpec>& specs,
                                        const std::map<std::string, int64_t>& sizes) {
  std::string at;
  for (const auto& [k, v] : sizes) at += (at.empty() ? "" : ", ") + k + "=" + std::to_string(v);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : specs) {
    auto dims = [&](const std::vector<std::string>& exprs, const char* what,
                    const std::array<int64_t, 3>& limit) -> Result<nlohmann::json> {
      nlohmann::json d = {1, 1, 1};
      for (size_t i = 0; i < exprs.size(); ++i) {
        auto v = task::EvalIntExpr(exprs[i], sizes);
        if (!v.ok()) {
          return Status::Error("kernel " + s.kernel + ": " + what + " '" + exprs[i] + "' at " + at +
                               ": " + v.status().message());
        }
        if (*v < 1 || *v > limit[i]) {
          return Status::Error("kernel " + s.kernel + ": " + what + " dimension " + "xyz"[i] +
                               " '" + exprs[i] + "' is " + std::to_string(*v) + " at " + at +
                               " (allowed 1 to " + std::to_string(limit[i]) + ")");
        }
        d[i] = *v;
      }
      return d;
    };
    auto grid = dims(s.grid, "grid", {2147483647, 65535, 65535});
    if (!grid.ok()) return grid.status();
    auto block = dims(s.block, "block", {1024, 1024, 64});
    if (!block.ok()) return block.status();
    const int64_t threads =
        (*block)[0].get<int64_t>() * (*block)[1].get<int64_t>() * (*block)[2].get<int64_t>();
    if (threads > 1024) {
      return Status::Error("kernel " + s.kernel + ": a block of " + std::to_string(threads) +
                           " threads at " + at + " (at most 1024)");
    }
    auto shared = task::EvalIntExpr(s.shared, sizes);
    if (!shared.ok() || *shared < 0) {
      return Status::Error("kernel " + s.kernel + ": shared '" + s.shared + "' at " + at + ": " +
                           (shared.ok() ? "negative" : shared.status().message()));
    }
    out.push_back({{"kernel", s.kernel}, {"grid", *grid}, {"block", *block}, {"shared", *shared}});
  }
  return out;
}

}  // namespace kf::backends::cuda
