// The kforge subcommands. Each returns the process exit status.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/status.h"

namespace kf::cli {

int RunEval(const std::vector<std::string>& args);
int RunTasks(const std::vector<std::string>& args);
int RunLlm(const std::vector<std::string>& args);
int RunOptimizeCommand(const std::vector<std::string>& args);
int RunImport(const std::vector<std::string>& args);
int RunBench(const std::vector<std::string>& args);
int RunServe(const std::vector<std::string>& args);
int RunReport(const std::vector<std::string>& args);
int RunExport(const std::vector<std::string>& args);
int RunMcp(const std::vector<std::string>& args);

// The built-in tasks directory: $KFORGE_TASKS, else tasks/ beside the build, else the source's.
std::filesystem::path BuiltinTasksDir();

// A task directory from a path or a built-in task name.
Result<std::filesystem::path> ResolveTask(const std::string& name_or_path);

}  // namespace kf::cli
