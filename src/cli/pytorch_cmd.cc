// `kforge import` (KernelBench-format modules to task directories) and `kforge bench` (a set of
// PyTorch problems with their candidates, scored against eager and torch.compile: fast_p and
// geometric means). docs/pytorch.md.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <variant>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "eval/evaluator.h"
#include "task/task.h"
#include "task/torch_task.h"
#include "util/files.h"
#include "util/format.h"
#include "util/subprocess.h"

namespace kf::cli {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::vector<fs::path> PythonFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".py") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

using util::Fmt;

}  // namespace

int RunImport(const std::vector<std::string>& args) {
  std::string source, out_dir;
  task::TorchSettings settings;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto app = NewCommandApp(
      "import",
      "Turn PyTorch modules in KernelBench format (Model, get_inputs, get_init_inputs) into task "
      "directories, probing them in parallel; a module file also works directly as TASK "
      "(docs/pytorch.md).");
  app->add_option("SOURCE", source, "PROBLEMS_DIR (its .py files) or one PROBLEM.py")
      ->type_name("")
      ->required();
  app->add_option("--out", out_dir, "where the task directories go")
      ->type_name("TASKS_DIR")
      ->required();
  app->add_option("--backend", settings.backend, "where the tasks run (default: cuda on a GPU)")
      ->type_name("cpu|cuda")
      ->check(CLI::IsMember(backends::BackendNames()).description(""));
  AddSizeOptions(app.get(), &settings.sizes, &settings.dtype);
  app->add_option("--jobs", jobs, "modules probed at a time (default: cores)")
      ->type_name("N")
      ->check(PositiveInteger());
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  const fs::path src = source;
  std::error_code ec;
  const auto files = fs::is_regular_file(src, ec) ? std::vector<fs::path>{src} : PythonFiles(src);
  if (files.empty()) {
    std::fprintf(stderr, "kforge import: no .py files in %s\n", src.c_str());
    return 2;
  }
  const double start = MonotonicSeconds();
  auto tasks = task::LoadTorchTasks(files, settings, jobs);
  int imported = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const fs::path& file = files[f];
    auto& t = tasks[f];
    if (!t.ok()) {
      std::printf("  skipped   %s: %s\n", file.filename().c_str(), t.status().message().c_str());
      continue;
    }
    const fs::path dir = fs::path(out_dir) / t->name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::copy_file(file, dir / "problem.py", fs::copy_options::overwrite_existing, ec);
    if (ec) {
      std::fprintf(stderr, "kforge import: cannot write %s: %s\n", dir.c_str(),
                   ec.message().c_str());
      return 2;
    }
    const task::Tolerance tol = *t->tolerance;
    std::ofstream yaml(dir / "task.yaml");
    yaml << "# Imported by kforge from " << fs::absolute(file).string() << ".\n"
         << "# Native candidates define:\n#   " << task::NativeSignature(*t) << "\n"
         << "# or a file with class ModelNew (docs/pytorch.md).\n"
         << "name: " << t->name << "\n"
         << "description: " << json(t->description).dump() << "\n"
         << "pytorch: problem.py\n"
         << "backend: " << backends::BackendName(t->backend) << "\n"
         << "tolerance: {atol: " << tol.atol << ", rtol: " << tol.rtol
         << ", rel_norm: " << tol.rel_norm << "}\n"
         << "baselines: [compile]\n";
    if (!t->torch->dtype.empty()) yaml << "dtype: " << t->torch->dtype << "\n";
    if (!t->torch->sizes.empty()) {
      yaml << "sizes: {";
      bool first = true;
      for (const auto& [k, v] : t->torch->sizes) {
        yaml << (first ? "" : ", ") << k << ": " << v;
        first = false;
      }
      yaml << "}\n";
    }
    std::printf("  imported  %s -> %s\n", file.filename().c_str(), dir.c_str());
    ++imported;
  }
  std::printf("kforge import: %d of %zu problems imported into %s in %.1f s\n", imported,
              files.size(), out_dir.c_str(), MonotonicSeconds() - start);
  return 0;
}

namespace {

struct BenchRow {
  std::string problem;
  std::string candidate;
  std::string verdict;
  std::string message;
  double time_ms = 0, eager_ms = 0, compile_ms = 0;
  double vs_eager = 0, vs_compile = 0;  // 0: not correct
};

// The candidate for problem stem S in dir: S.cu, S.cc, S.cpp, S.c, then S.py, S_modelnew.py.
fs::path FindCandidate(const fs::path& dir, const std::string& stem) {
  for (const char* ext : {".cu", ".cc", ".cpp", ".c", ".py"}) {
    if (fs::is_regular_file(dir / (stem + ext))) return dir / (stem + ext);
  }
  if (fs::is_regular_file(dir / (stem + "_modelnew.py"))) return dir / (stem + "_modelnew.py");
  return {};
}

json FastP(const std::vector<BenchRow>& rows, double BenchRow::*speedup) {
  json out = json::object();
  for (double p : {0.0, 1.0, 1.5, 2.0}) {
    int n = 0;
    for (const auto& r : rows) n += r.*speedup > 0 && r.*speedup > p;
    out[Fmt("%g", p)] = rows.empty() ? 0.0 : static_cast<double>(n) / rows.size();
  }
  return out;
}

std::pair<double, double> Geomeans(const std::vector<BenchRow>& rows, double BenchRow::*speedup) {
  double all = 0, correct = 0;
  int nc = 0;
  for (const auto& r : rows) {
    const double s = r.*speedup;
    all += std::log(s > 0 ? s : 1.0);  // a failure counts as 1x
    if (s > 0) {
      correct += std::log(s);
      ++nc;
    }
  }
  return {rows.empty() ? 0 : std::exp(all / rows.size()), nc ? std::exp(correct / nc) : 0};
}

// One problem's row: its candidate judged (or why it was not).
BenchRow JudgeProblem(const fs::path& problem, const fs::path& candidate,
                      const eval::EvalOptions& opt) {
  BenchRow row;
  row.problem =
      problem.extension() == ".py" ? problem.stem().string() : problem.filename().string();
  row.candidate = candidate.filename().string();
  std::fprintf(stderr, "kforge bench: %s ...\n", row.problem.c_str());
  auto t = task::LoadTask(problem);
  if (!t.ok()) {
    row.verdict = "bad_task";
    row.message = t.status().message();
  } else if (candidate.empty()) {
    row.verdict = "no_candidate";
    row.message = "no candidate file for this problem";
  } else {
    eval::Evaluator ev(*t, opt);
    auto r = ev.Evaluate(candidate);
    if (!r.ok()) {
      row.verdict = "harness_error";
      row.message = r.status().message();
    } else {
      row.verdict = std::string(eval::VerdictName(r->verdict));
      row.message = r->detail.value("message", "");
      if (r->time) row.time_ms = r->time->median_ms;
      if (r->baseline) row.eager_ms = r->baseline->median_ms;
      for (const auto& b : r->baselines) {
        if (b.value("name", "") == "torch.compile")
          row.compile_ms = b["time_ms"].value("median", 0.0);
      }
      if (r->verdict == eval::Verdict::kOk && row.time_ms > 0) {
        row.vs_eager = row.eager_ms / row.time_ms;
        if (row.compile_ms > 0) row.vs_compile = row.compile_ms / row.time_ms;
      }
    }
  }
  if (row.message.size() > 300) row.message = row.message.substr(0, 300) + "...";
  return row;
}

}  // namespace

Parsed<BenchArgs> ParseBenchArgs(const std::vector<std::string>& args) {
  BenchArgs a;
  auto app = NewCommandApp(
      "bench",
      "Judge each PyTorch problem's candidate against eager and torch.compile; per-problem "
      "table, fast_p (p = 0, 1, 1.5, 2) and geometric means, as bench.md and bench.json.\n"
      "  kforge bench PROBLEMS_DIR --candidates DIR [options]\n"
      "  kforge bench --from-run RUN_DIR... [options]");
  app->add_option("PROBLEMS_DIR", a.problems_dir, "the problems: .py files and task directories")
      ->type_name("");
  app->add_option("--candidates", a.candidates_dir,
                  "a candidate per problem: NAME.cu, .cc, .cpp, .c, .py or NAME_modelnew.py")
      ->type_name("DIR");
  app->add_option("--from-run", a.runs, "the runs' tasks and best programs instead")
      ->type_name("RUN_DIR")
      ->take_all();
  app->add_option("--out", a.out_dir, "where bench.md and bench.json go (default kforge-bench)")
      ->type_name("DIR");
  AddEvalSeedOption(app.get(), &a.options);
  AddEvalOptions(app.get(), &a.options);
  if (auto stop = ParseArgs(app.get(), args)) return *stop;
  if (a.runs.empty() && (a.problems_dir.empty() || a.candidates_dir.empty())) {
    return UsageError(*app, "expected PROBLEMS_DIR --candidates DIR, or --from-run RUN_DIR...");
  }
  return a;
}

int RunBench(const std::vector<std::string>& args) {
  auto parsed = ParseBenchArgs(args);
  if (const auto* stop = std::get_if<ParseStop>(&parsed)) return Finish(*stop);
  const BenchArgs& a = std::get<BenchArgs>(parsed);
  const std::vector<std::string>& runs = a.runs;
  const eval::EvalOptions& opt = a.options;
  const std::string& out_dir = a.out_dir;
  // Problems and their candidates: PROBLEMS_DIR with --candidates DIR, or the runs' bests.
  std::vector<std::pair<fs::path, fs::path>> work;  // {task (file or dir), candidate}
  if (!runs.empty()) {
    for (const auto& run : runs) {
      json report;
      try {
        report = json::parse(ReadFile(fs::path(run) / "report.json"));
      } catch (const std::exception&) {
        std::fprintf(stderr, "kforge bench: %s has no readable report.json (not a run?)\n",
                     run.c_str());
        return 2;
      }
      fs::path task = report.value("task_dir", "");
      if (report.contains("task_file")) task = report["task_file"].get<std::string>();
      fs::path best;
      if (report.contains("best") && report["best"].is_object())
        best = report["best"].value("file", "");
      work.push_back({task, best});
    }
  } else {
    std::vector<fs::path> problems = PythonFiles(a.problems_dir);
    for (const auto& dir : task::FindTaskDirs(a.problems_dir)) problems.push_back(dir);
    if (problems.empty()) {
      std::fprintf(stderr, "kforge bench: no problems (.py files or task dirs) in %s\n",
                   a.problems_dir.c_str());
      return 2;
    }
    for (const auto& p : problems) {
      const std::string stem = p.extension() == ".py" ? p.stem().string() : p.filename().string();
      work.push_back({p, FindCandidate(a.candidates_dir, stem)});
    }
  }

  std::vector<BenchRow> rows;
  for (const auto& [problem, candidate] : work)
    rows.push_back(JudgeProblem(problem, candidate, opt));

  // Markdown and JSON.
  std::ostringstream md;
  md << "| problem | candidate | verdict | time ms | eager ms | compile ms | vs eager | vs compile "
        "|\n"
     << "|---|---|---|---:|---:|---:|---:|---:|\n";
  json jrows = json::array();
  for (const auto& r : rows) {
    auto num = [](double v, const char* f) { return v > 0 ? Fmt(f, v) : std::string("-"); };
    md << "| " << r.problem << " | " << (r.candidate.empty() ? "-" : r.candidate) << " | "
       << r.verdict << " | " << num(r.time_ms, "%.4f") << " | " << num(r.eager_ms, "%.4f") << " | "
       << num(r.compile_ms, "%.4f") << " | " << num(r.vs_eager, "%.2fx") << " | "
       << num(r.vs_compile, "%.2fx") << " |\n";
    jrows.push_back({{"problem", r.problem},
                     {"candidate", r.candidate},
                     {"verdict", r.verdict},
                     {"message", r.message},
                     {"time_ms", r.time_ms},
                     {"eager_ms", r.eager_ms},
                     {"compile_ms", r.compile_ms},
                     {"speedup_vs_eager", r.vs_eager},
                     {"speedup_vs_compile", r.vs_compile}});
  }
  const json fe = FastP(rows, &BenchRow::vs_eager), fc = FastP(rows, &BenchRow::vs_compile);
  const auto [ge_all, ge_ok] = Geomeans(rows, &BenchRow::vs_eager);
  const auto [gc_all, gc_ok] = Geomeans(rows, &BenchRow::vs_compile);
  md << "\n| fast_p (share of problems correct and faster than p x) | p=0 | p=1 | p=1.5 | p=2 |\n"
     << "|---|---:|---:|---:|---:|\n";
  for (auto [name, f] : {std::pair{"vs PyTorch eager", &fe}, {"vs torch.compile", &fc}}) {
    md << "| " << name << " | " << Fmt("%.2f", (*f)["0"]) << " | " << Fmt("%.2f", (*f)["1"])
       << " | " << Fmt("%.2f", (*f)["1.5"]) << " | " << Fmt("%.2f", (*f)["2"]) << " |\n";
  }
  md << "\nGeometric-mean speedup over " << rows.size()
     << " problems, failures counted as 1x: " << Fmt("%.2fx", ge_all) << " vs eager, "
     << Fmt("%.2fx", gc_all)
     << " vs torch.compile (over correct problems only: " << Fmt("%.2fx", ge_ok) << " and "
     << Fmt("%.2fx", gc_ok) << ").\n";
  json out = {{"problems", jrows},
              {"fast_p", {{"vs_eager", fe}, {"vs_compile", fc}}},
              {"geomean",
               {{"vs_eager_failures_as_1x", ge_all},
                {"vs_compile_failures_as_1x", gc_all},
                {"vs_eager_correct_only", ge_ok},
                {"vs_compile_correct_only", gc_ok}}}};
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  std::ofstream(fs::path(out_dir) / "bench.md") << md.str();
  std::ofstream(fs::path(out_dir) / "bench.json") << out.dump(2) << "\n";
  std::fputs(md.str().c_str(), stdout);
  std::printf("\nwritten: %s, %s\n", (fs::path(out_dir) / "bench.md").c_str(),
              (fs::path(out_dir) / "bench.json").c_str());
  return 0;
}

}  // namespace kf::cli
