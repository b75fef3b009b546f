// `--strategy tune`: no model. Judges variants of the starting program over the parameters it
// declares (tune.h): every point when the space fits in the evaluation budget, else a seeded
// sample of distinct points.
#include "search/tune.h"

#include <regex>
#include <set>
#include <sstream>

#include "search/run_context.h"

namespace kf::search {

Result<std::vector<TuneParam>> ParseTuneParams(const std::string& source) {
  std::vector<TuneParam> params;
  std::istringstream in(source);
  std::string line;
  int number = 0;
  static const std::regex kLine(R"(^\s*//\s*kforge-tune:\s*(.*)$)");
  static const std::regex kDecl(R"(^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$)");
  while (std::getline(in, line)) {
    ++number;
    std::smatch m;
    if (!std::regex_match(line, m, kLine)) continue;
    std::smatch d;
    const std::string decl = m[1];
    if (!std::regex_match(decl, d, kDecl)) {
      return Status::Error("line " + std::to_string(number) + ": '" + line +
                           "': expected // kforge-tune: NAME = V1, V2, ...");
    }
    TuneParam p{d[1], {}};
    std::stringstream values(d[2]);
    std::string v;
    while (std::getline(values, v, ',')) {
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t") + 1);
      if (v.empty()) return Status::Error("line " + std::to_string(number) + ": an empty value");
      p.values.push_back(v);
    }
    for (const auto& other : params) {
      if (other.name == p.name) {
        return Status::Error("line " + std::to_string(number) + ": " + p.name + " declared twice");
      }
    }
    params.push_back(p);
  }
  return params;
}

std::vector<std::vector<size_t>> TunePlan(const std::vector<TuneParam>& params, int64_t budget,
                                          uint64_t seed) {
  double space = 1;
  for (const auto& p : params) space *= static_cast<double>(p.values.size());
  auto point_of = [&](uint64_t index) {
    std::vector<size_t> point(params.size());
    for (size_t i = params.size(); i-- > 0;) {
      point[i] = index % params[i].values.size();
      index /= params[i].values.size();
    }
    return point;
  };
  std::vector<std::vector<size_t>> plan;
  if (budget <= 0) return plan;
  if (space <= static_cast<double>(budget)) {
    for (uint64_t i = 0; i < static_cast<uint64_t>(space); ++i) plan.push_back(point_of(i));
    return plan;
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, static_cast<uint64_t>(space) - 1);
  std::set<uint64_t> chosen;
  while (static_cast<int64_t>(chosen.size()) < budget) {
    const uint64_t i = pick(rng);
    if (chosen.insert(i).second) plan.push_back(point_of(i));
  }
  return plan;
}

std::string TuneVariant(const std::string& source, const std::vector<TuneParam>& params,
                        const std::vector<size_t>& point) {
  std::string head = "/* kforge tune:";
  for (size_t i = 0; i < params.size(); ++i)
    head += " " + params[i].name + "=" + params[i].values[point[i]];
  head += " */\n";
  for (size_t i = 0; i < params.size(); ++i) {
    head += "#define " + params[i].name + " " + params[i].values[point[i]] + "\n";
  }
  return head + source;
}

Status RunTune(RunContext& ctx) { return TuneFrom(ctx, *ctx.initial); }

Status TuneFrom(RunContext& ctx, const Candidate& start) {
  const std::string source = start.code;
  auto params = ParseTuneParams(source);
  if (!params.ok()) return Status::Error("tune: " + params.status().message());
  if (params->empty()) {
    return Status::Error(
        "tune: the starting program declares no parameters. Add lines such as\n"
        "  // kforge-tune: BLOCK = 16, 32, 64\n"
        "and guard each default with #ifndef BLOCK / #define BLOCK 32 / #endif "
        "(docs/optimize.md); pick the program with --start FILE");
  }
  const int64_t room =
      ctx.options.budget_evals > 0 ? ctx.options.budget_evals - ctx.judged : 1 << 20;
  const auto plan = TunePlan(*params, room, ctx.options.seed);
  int round = 0;
  for (const auto& point : plan) {
    if (ctx.ShouldStop()) break;
    Candidate extra;
    extra.origin = "tune";
    extra.strategy = "tune";
    extra.round = ++round;
    extra.parent_id = start.id;
    for (size_t i = 0; i < params->size(); ++i) {
      extra.params[(*params)[i].name] = (*params)[i].values[point[i]];
    }
    auto c = ctx.Judge(TuneVariant(source, *params, point), extra);
    if (!c.ok()) return c.status();
  }
  return Status::Ok();
}

}  // namespace kf::search
