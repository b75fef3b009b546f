// `kforge export RUN_DIR|PROGRAM --task TASK --torch-op NAMESPACE::NAME --out DIR`: the program
// as a PyTorch custom op package (src/export/torch_export.h, docs/export.md).
#include <cstdio>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "export/torch_export.h"

namespace kf::cli {
namespace fs = std::filesystem;

namespace {

// op_runtime.py next to the kforge binary (the build copies it there), else in the source tree.
fs::path OpRuntime() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(exe.parent_path() / "kforge_op_runtime.py", ec)) {
    return exe.parent_path() / "kforge_op_runtime.py";
  }
  return fs::path(KFORGE_SOURCE_DIR) / "src" / "export" / "op_runtime.py";
}

}  // namespace

int RunExport(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::string task_arg, op, out;
  auto app = NewCommandApp(
      "export",
      "Write a Python package that registers a program (a file, or a run's best.*) as a "
      "PyTorch custom op with a fake implementation for torch.compile; it compiles the program "
      "on first use and needs no kforge at run time. docs/export.md.");
  app->add_option("RUN_DIR|PROGRAM", positional, "a run directory or a program file")
      ->type_name("")
      ->take_all();
  app->add_option("--task", task_arg,
                  "the task the program implements (a directory or a "
                  "built-in task's name)")
      ->type_name("TASK")
      ->required();
  app->add_option("--torch-op", op, "the op's name")->type_name("NAMESPACE::NAME")->required();
  app->add_option("--out", out, "the package directory (its name is the package's)")
      ->type_name("DIR")
      ->required();
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  if (positional.size() != 1) {
    return Finish(UsageError(*app, positional.empty() ? "no RUN_DIR or PROGRAM given"
                                                      : "more than one RUN_DIR or PROGRAM given"));
  }
  auto dir = ResolveTask(task_arg);
  if (!dir.ok()) {
    std::fprintf(stderr, "kforge export: %s\n", dir.status().message().c_str());
    return 2;
  }
  auto task = task::LoadTask(*dir);
  if (!task.ok()) {
    std::fprintf(stderr, "kforge export: %s\n", task.status().message().c_str());
    return 2;
  }
  auto program = exporter::ResolveProgram(positional[0]);
  if (!program.ok()) {
    std::fprintf(stderr, "kforge export: %s\n", program.status().message().c_str());
    return 2;
  }
  std::error_code ec;
  fs::path out_dir = fs::absolute(out, ec).lexically_normal();
  if (out_dir.filename().empty()) out_dir = out_dir.parent_path();
  exporter::ExportRequest req{*program, op, out_dir, OpRuntime()};
  if (Status s = exporter::ExportTorchOp(*task, req); !s.ok()) {
    std::fprintf(stderr, "kforge export: %s\n", s.message().c_str());
    return 2;
  }
  std::printf("exported %s (task %s) as %s in %s\n", program->c_str(), task->name.c_str(),
              op.c_str(), out_dir.c_str());
  return 0;
}

}  // namespace kf::cli
