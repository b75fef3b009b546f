// `kforge tasks [DIR]`, and how a TASK argument is found: a directory, a PyTorch module file or a
// built-in task's name.
#include <cstdio>
#include <cstdlib>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "task/task.h"

namespace kf::cli {
namespace fs = std::filesystem;

fs::path BuiltinTasksDir() {
  if (const char* v = std::getenv("KFORGE_TASKS"); v && *v) return v;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::is_directory(exe.parent_path().parent_path() / "tasks")) {
    return exe.parent_path().parent_path() / "tasks";
  }
  return fs::path(KFORGE_SOURCE_DIR) / "tasks";
}

Result<fs::path> ResolveTask(const std::string& name_or_path) {
  if (fs::is_directory(name_or_path)) return fs::path(name_or_path);
  // A PyTorch module in KernelBench format is a task by itself (docs/pytorch.md).
  if (fs::path(name_or_path).extension() == ".py" && fs::is_regular_file(name_or_path)) {
    return fs::path(name_or_path);
  }
  for (const auto& dir : task::FindTaskDirs(BuiltinTasksDir())) {
    if (dir.filename() == name_or_path || fs::relative(dir, BuiltinTasksDir()) == name_or_path) {
      return dir;
    }
  }
  return Status::Error("no task '" + name_or_path +
                       "': not a directory, nor a built-in task (see `kforge tasks`)");
}

int RunTasks(const std::vector<std::string>& args) {
  std::vector<std::string> dirs_given;
  auto app = NewCommandApp("tasks", "List the built-in tasks, or the tasks under DIR.");
  app->add_option("DIR", dirs_given, "a directory of tasks (default: the built-in ones)")
      ->type_name("")
      ->take_all();
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  if (dirs_given.size() > 1) return Finish(UsageError(*app, "expected at most one directory"));
  const fs::path root = dirs_given.empty() ? BuiltinTasksDir() : fs::path(dirs_given[0]);
  if (!fs::is_directory(root)) {
    std::fprintf(stderr, "kforge tasks: %s is not a directory\n", root.c_str());
    return 2;
  }
  const auto dirs = task::FindTaskDirs(root);
  if (dirs.empty()) {
    std::fprintf(stderr, "kforge tasks: no task.yaml under %s\n", root.c_str());
    return 2;
  }
  int bad = 0;
  std::printf("%-22s %-8s %s\n", "TASK", "BACKEND", "DESCRIPTION");
  for (const auto& dir : dirs) {
    auto t = task::LoadTask(dir);
    if (!t.ok()) {
      std::printf("%-22s %-8s %s\n", dir.filename().c_str(), "?",
                  ("INVALID: " + t.status().message()).c_str());
      ++bad;
      continue;
    }
    std::printf("%-22s %-8s %s\n", t->name.c_str(), backends::BackendName(t->backend).c_str(),
                t->description.c_str());
  }
  return bad ? 2 : 0;
}

}  // namespace kf::cli
