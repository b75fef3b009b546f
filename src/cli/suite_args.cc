#include "cli/suite_args.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "task/task.h"

namespace kf::cli {
namespace fs = std::filesystem;

namespace {

bool IsTaskDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p / "task.yaml", ec);
}

std::string ProblemName(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (n.filename().empty()) n = n.parent_path();
  return n.extension() == ".py" ? n.stem().string() : n.filename().string();
}

// The problems in a directory: its PyTorch problem files, then the task directories under it.
std::vector<fs::path> ProblemsIn(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".py") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  for (const auto& t : task::FindTaskDirs(dir)) out.push_back(t);
  return out;
}

// A problem named on a LIST line or as TASK: a path (relative to `base`), else a built-in name.
Result<fs::path> Locate(const std::string& word, const fs::path& base) {
  const fs::path p = fs::path(word).is_absolute() ? fs::path(word) : base / word;
  std::error_code ec;
  if (fs::exists(p, ec)) return p;
  return ResolveTask(word);
}

// The program a problem starts from, in the --start directory: NAME.c, .cc, .cpp, .cu or .py.
fs::path StartIn(const fs::path& dir, const std::string& name) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cu", ".py"}) {
    std::error_code ec;
    if (fs::is_regular_file(dir / (name + ext), ec)) return dir / (name + ext);
  }
  return {};
}

// The problems of one TASK word: a task, a problem file, a directory of them, or a LIST file.
Status AddProblems(const std::string& word, std::vector<search::SuiteProblem>* out) {
  auto where = Locate(word, fs::current_path());
  if (!where.ok()) return where.status();
  const fs::path p = *where;
  std::error_code ec;
  if (IsTaskDir(p) || p.extension() == ".py") {
    out->push_back({ProblemName(p), p, {}});
    return Status::Ok();
  }
  if (fs::is_directory(p, ec)) {
    const auto found = ProblemsIn(p);
    if (found.empty()) {
      return Status::Error(p.string() + " holds no problems (task directories or .py files)");
    }
    for (const auto& f : found) out->push_back({ProblemName(f), f, {}});
    return Status::Ok();
  }
  std::ifstream list(p);
  if (!list) return Status::Error(p.string() + ": cannot read");
  std::string line;
  for (int n = 1; std::getline(list, line); ++n) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string problem, start;
    if (!(words >> problem)) continue;
    words >> start;
    const std::string at = p.string() + ":" + std::to_string(n) + ": ";
    auto task = Locate(problem, p.parent_path());
    if (!task.ok()) return Status::Error(at + task.status().message());
    search::SuiteProblem sp{ProblemName(*task), *task, {}};
    if (!start.empty()) {
      sp.start = fs::path(start).is_absolute() ? fs::path(start) : p.parent_path() / start;
      if (!fs::is_regular_file(sp.start, ec)) {
        return Status::Error(at + sp.start.string() + ": no such program");
      }
    }
    out->push_back(sp);
  }
  return Status::Ok();
}

// Every flag given on the command line but the suite's own, as words again: each run parses
// them itself (its config file under them, as for one run).
std::vector<std::string> RunFlags(const CLI::App& app) {
  static const std::set<std::string> kSuiteOwn = {"TASK",    "--out",    "--jobs", "--devices",
                                                  "--start", "--resume", "--help", "--eval-lock"};
  std::vector<std::string> out;
  for (const CLI::Option* opt : app.get_options()) {
    const std::string name = opt->get_name();
    if (opt->count() == 0 || kSuiteOwn.count(name)) continue;
    if (opt->get_type_size() == 0) {
      out.push_back(name);
      continue;
    }
    const auto& values = opt->results();
    if (name == "--llm") {
      for (const auto& v : values) out.insert(out.end(), {name, v});
    } else if (!values.empty()) {
      out.insert(out.end(), {name, values.back()});
    }
  }
  return out;
}

}  // namespace

bool IsSuiteInput(const std::vector<std::string>& tasks) {
  if (tasks.size() > 1) return true;
  if (tasks.empty()) return false;
  const fs::path p = tasks.front();
  std::error_code ec;
  if (!fs::exists(p, ec)) return false;  // a built-in task's name, or a missing path
  if (fs::is_directory(p, ec)) return !IsTaskDir(p);
  return p.extension() != ".py";
}

std::optional<ParseStop> FinishSuiteOptions(const CLI::App& app, OptimizeArgs* a) {
  search::SuiteOptions s;
  for (const auto& word : a->tasks) {
    if (Status st = AddProblems(word, &s.problems); !st.ok()) return UsageError(app, st.message());
  }
  if (s.problems.empty()) return UsageError(app, "the suite names no problems");
  // Names are run directories: unique, a second "softmax" becomes "softmax-2".
  std::set<std::string> taken;
  for (auto& p : s.problems) {
    const std::string base = p.name;
    for (int k = 2; taken.count(p.name); ++k) p.name = base + "-" + std::to_string(k);
    taken.insert(p.name);
  }
  const fs::path start = a->run.start_program;
  if (!start.empty()) {
    std::error_code ec;
    if (!fs::is_directory(start, ec)) {
      return UsageError(app,
                        "in a suite --start takes a directory of programs named after the "
                        "problems (NAME.c, .cc, .cu, .py); " +
                            start.string() + " is not one");
    }
    for (auto& p : s.problems) {
      if (p.start.empty()) p.start = StartIn(start, p.name);
    }
  }
  s.name = ProblemName(a->tasks.front());
  s.dir = a->run.run_dir.empty() ? fs::path("runs") / ("suite-" + s.name) : a->run.run_dir;
  s.run_args = RunFlags(app);
  s.attempts = a->run.attempts_per_round;
  s.jobs = a->jobs;
  if (!a->devices.empty()) s.devices = a->devices;
  a->suite = std::move(s);
  return std::nullopt;
}

}  // namespace kf::cli
