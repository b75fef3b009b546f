// PyTorch modules in KernelBench format as tasks (docs/pytorch.md). A problem file defines
// `Model`, `get_inputs()`, `get_init_inputs()` and its sizes as module constants; kforge probes it
// once with the bridge worker's `--probe` (under the python3 that has torch) and turns what it
// finds into a Task:
//   inputs   forward's tensors in get_inputs() order, then the module's parameters and buffers
//            in named_parameters() then named_buffers() order (named p_<dotted name>);
//   outputs  forward's tensor, or each tensor of the tuple it returns;
//   params   the module's integer constants in definition order, passed as int64_t after the
//            pointers; sizes.bench holds their values;
//   tolerance by the first output's dtype (float32: atol 1e-4, rtol 1e-4, rel_norm 1e-5;
//            float64: 1e-10; integers: exact), overridable in task.yaml.
// There is no reference or initial program: the bridge runs the module itself (the reference
// and the eager baseline) and torch.compile of it (a second baseline).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "task/task.h"
#include "util/status.h"

namespace kf::task {

struct TorchSettings {
  std::string python;   // empty: DefaultPython()
  std::string backend;  // a backend's name (backends/backend.h); empty: "cuda" where an NVIDIA
                        // device node exists, else "cpu"
  std::string name;     // empty: from the file's name
  std::optional<Tolerance> tolerance;
  std::vector<std::string> baselines = {"compile"};
  std::string description;
  Sizes sizes;  // the module's integer constants overridden (`--sizes`, task.yaml `sizes:`)
  // "float16" or "bfloat16" (also f16, bf16): the module and its floating inputs cast to it,
  // the reference computed in float from the same values (`--dtype`, task.yaml `dtype:`).
  std::string dtype;
};

// KFORGE_PYTHON if set; else torch-venv/bin/python3 beside the kforge binary (scripts/torch_env
// makes it); else python3 on PATH.
std::string DefaultPython();

// The bridge script beside the kforge binary.
std::filesystem::path BridgeScript();

// Probes `problem` and builds its task. Errors name the file and the problem (does not import,
// no get_inputs, a non-tensor input, an unsupported dtype, weights downloaded...).
Result<Task> LoadTorchTask(const std::filesystem::path& problem, const TorchSettings& settings);

// Many problems at once: `jobs` probe processes, each probing many modules (torch imported once
// per process). Results in the order of `problems`. Each problem gets those of settings.sizes
// that it defines; a module that kills its probe process is probed again alone.
std::vector<Result<Task>> LoadTorchTasks(const std::vector<std::filesystem::path>& problems,
                                         const TorchSettings& settings, int jobs);

// TASK_DIR/task.yaml with a `pytorch:` key (what `kforge import` writes).
// `sizes` overrides the file's `sizes:`, a non-empty `dtype` its `dtype:`.
Result<Task> LoadTorchTaskDir(const std::filesystem::path& dir, const Sizes& sizes = {},
                              const std::string& dtype = "");

// The C entry point a native candidate defines, e.g. "void forward(const float* x, float* out,
// int64_t batch_size, int64_t dim)" (CUDA: extern "C", with a trailing cudaStream_t stream).
std::string NativeSignature(const Task& task);

// The default tolerance of a PyTorch task by its output's dtype (documented above).
Tolerance TorchTolerance(DType dtype);

}  // namespace kf::task
