// `kforge export`: a native task's program as a Python package that registers it as a PyTorch
// custom op (torch.library.custom_op, with a fake implementation so torch.compile traces it).
// The package holds the program's source, the task's spec (spec.json) and a small runtime that
// checks arguments, compiles the source on first use (cached by content hash) and calls its C
// entry through ctypes; it needs torch and a compiler at run time, never kforge. docs/export.md.
// Pure file writing; thread-compatible.
#pragma once

#include <filesystem>
#include <string>

#include "task/task.h"
#include "util/status.h"

namespace kf::exporter {

struct ExportRequest {
  std::filesystem::path program;  // a candidate file, or a run directory (its best.*)
  std::string op;                 // NAMESPACE::NAME
  std::filesystem::path out;      // the package directory; its name is the package's
  std::filesystem::path runtime;  // op_runtime.py to copy in
};

// The program a run directory's report chose (RUN_DIR/best.EXT), or `path` itself for a file.
Result<std::filesystem::path> ResolveProgram(const std::filesystem::path& path);

// Writes the package. Errors: a PyTorch task (its winners are ModelNew modules), a program of the
// wrong language for the task's backend, a bad op or package name, a kernel-only program whose
// launch declarations do not parse, files that cannot be written.
Status ExportTorchOp(const task::Task& task, const ExportRequest& request);

}  // namespace kf::exporter
