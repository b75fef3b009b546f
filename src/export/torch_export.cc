// The package kforge export writes: __init__.py (the op's signature, generated here, since
// custom_op reads it from annotations), _runtime.py (op_runtime.py), spec.json, the program,
// launch.cu for kernel-only CUDA programs (a host entry that launches the declared kernels), and
// README.md.
#include "export/torch_export.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "backends/cuda/launch_spec.h"
#include "task/dtype.h"
#include "util/files.h"

namespace kf::exporter {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool IsIdentifier(const std::string& s) {
  static const std::regex kId("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, kId);
}

Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) return Status::Error("cannot write " + path.string());
  return Status::Ok();
}

std::string DTypeText(task::DType d) {
  switch (d) {
    case task::DType::kF32:
      return "f32";
    case task::DType::kF64:
      return "f64";
    case task::DType::kF16:
      return "f16";
    case task::DType::kBF16:
      return "bf16";
    case task::DType::kI32:
      return "i32";
    case task::DType::kI64:
      return "i64";
    case task::DType::kBool:
      return "bool";
  }
  return "f32";
}

json TensorJson(const task::TensorSpec& t) {
  json j = {{"name", t.name}, {"dtype", DTypeText(t.dtype)}, {"shape", t.shape}};
  if (!t.range.empty()) j["range"] = t.range;
  return j;
}

// A host entry for a kernel-only program: the declared kernels launched in order on the
// caller's stream, as kforge's worker launches them.
Result<std::string> LaunchWrapper(const task::Task& task, const std::string& source,
                                  const std::string& source_name, const std::string& symbol) {
  auto specs = backends::cuda::ParseLaunchSpecs(source, task.params);
  if (!specs.ok()) return specs.status();
  std::ostringstream w;
  w << "// Host entry for the kernel-only program " << source_name
    << ": its declared kernels, launched in order on the caller's stream.\n"
    << "#include <cuda_runtime.h>\n\n#include <cstdint>\n\n#include \"" << source_name
    << "\"\n\nextern \"C\" void " << symbol << "(";
  std::vector<std::string> args, call;
  auto ctype = [](task::DType d) { return task::CTypeName(d, true); };
  for (const auto& in : task.inputs) {
    args.push_back("const " + ctype(in.dtype) + "* " + in.name);
    call.push_back("const_cast<" + ctype(in.dtype) + "*>(" + in.name + ")");
  }
  for (const auto& out : task.outputs) {
    args.push_back(ctype(out.dtype) + "* " + out.name);
    call.push_back(out.name);
  }
  for (const auto& p : task.params) {
    args.push_back("int64_t " + p);
    call.push_back(p);
  }
  args.push_back("cudaStream_t stream");
  for (size_t i = 0; i < args.size(); ++i) w << (i ? ", " : "") << args[i];
  w << ") {\n";
  auto dims = [](const std::vector<std::string>& e) {
    std::string s = "dim3(";
    for (size_t i = 0; i < 3; ++i) {
      s += (i ? ", " : "") + std::string("(unsigned)(") + (i < e.size() ? e[i] : "1") + ")";
    }
    return s + ")";
  };
  for (const auto& s : *specs) {
    w << "  {\n    const size_t shared = (size_t)(" << s.shared << ");\n"
      << "    if (shared > 48 * 1024) cudaFuncSetAttribute(" << s.kernel
      << ", cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared);\n"
      << "    " << s.kernel << "<<<" << dims(s.grid) << ", " << dims(s.block)
      << ", shared, stream>>>(";
    for (size_t i = 0; i < call.size(); ++i) w << (i ? ", " : "") << call[i];
    w << ");\n  }\n";
  }
  w << "}\n";
  return w.str();
}

std::string InitPy(const task::Task& task, const std::string& ns, const std::string& name,
                   const fs::path& program) {
  // Params read from a dimension named exactly after them come from the tensors; the rest are
  // int arguments (the runtime makes the same choice).
  std::vector<std::string> inferred;
  for (const auto& in : task.inputs) {
    for (const auto& e : in.shape) {
      if (std::find(task.params.begin(), task.params.end(), e) != task.params.end())
        inferred.push_back(e);
    }
  }
  std::vector<std::string> ints;
  for (const auto& p : task.params) {
    if (std::find(inferred.begin(), inferred.end(), p) == inferred.end()) ints.push_back(p);
  }
  std::string sig, names, int_names;
  for (const auto& in : task.inputs) {
    sig += (sig.empty() ? "" : ", ") + in.name + ": torch.Tensor";
    names += in.name + ", ";
  }
  for (const auto& p : ints) {
    sig += ", " + p + ": int";
    int_names += p + ", ";
  }
  const bool one = task.outputs.size() == 1;
  std::string ret = "torch.Tensor";
  if (!one) {
    ret = "typing.Tuple[";
    for (size_t i = 0; i < task.outputs.size(); ++i)
      ret += std::string(i ? ", " : "") + "torch.Tensor";
    ret += "]";
  }
  std::string out_names;
  for (const auto& o : task.outputs) out_names += (out_names.empty() ? "" : ", ") + o.name;
  std::ostringstream py;
  py << "\"\"\"" << ns << "::" << name << ": the kernel of kforge task " << task.name << " ("
     << program.filename().string() << "), as a PyTorch custom op.\n\n"
     << task.description << "\n\n"
     << "    " << name << "(" << sig << ") -> " << out_names << "\n\n"
     << "Also torch.ops." << ns << "." << name
     << ". Compiled on first use and cached (README.md). Written by `kforge export`.\n\"\"\"\n\n"
     << "import pathlib\nimport typing\n\nimport torch\n\nfrom . import _runtime\n\n"
     << "_OP = _runtime.Op(pathlib.Path(__file__).resolve().parent)\nSPEC = _OP.spec\n\n\n"
     << "def set_value_checks(enabled: bool) -> None:\n"
     << "    \"\"\"Checking integer inputs against their range reads them (on a GPU, a wait for "
        "the "
        "device);\n    turn it off once the inputs are known to be valid.\"\"\"\n"
     << "    _OP.check_values = bool(enabled)\n\n\n"
     << "def " << name << "(" << sig << ") -> " << ret << ":\n"
     << "    \"\"\"The op, with arguments of the wrong type refused as TypeError naming them "
        "(the op\n    itself refuses wrong dtypes, shapes, devices and values).\"\"\"\n"
     << "    _OP.check_types([" << names << "], [" << int_names << "])\n"
     << "    return op(" << names << int_names << ")\n\n\n"
     << "@torch.library.custom_op(\"" << ns << "::" << name << "\", mutates_args=())\n"
     << "def _" << name << "(" << sig << ") -> " << ret << ":\n"
     << "    outs = _OP([" << names << "], [" << int_names << "])\n"
     << "    return " << (one ? "outs[0]" : "tuple(outs)") << "\n\n\n"
     << "@_" << name << ".register_fake\n"
     << "def _(" << sig << ") -> " << ret << ":\n"
     << "    args = [" << names << "]\n"
     << "    outs = _OP.outputs_like(args, _OP.sizes(args, [" << int_names << "]))\n"
     << "    return " << (one ? "outs[0]" : "tuple(outs)") << "\n\n\n"
     << "op = torch.ops." << ns << "." << name << "\n";
  return py.str();
}

}  // namespace

Result<fs::path> ResolveProgram(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  if (!fs::is_directory(path, ec)) return Status::Error(path.string() + ": no such file or run");
  for (const char* ext : {".cu", ".c", ".cc", ".cpp", ".py"}) {
    const fs::path best = path / (std::string("best") + ext);
    if (fs::is_regular_file(best, ec)) return best;
  }
  return Status::Error(path.string() +
                       ": no best.* in this directory (a run directory of kforge optimize "
                       "holds the winner as best.EXT)");
}

Status ExportTorchOp(const task::Task& task, const ExportRequest& req) {
  if (task.torch) {
    return Status::Error("task " + task.name +
                         " is a PyTorch module: export takes native tasks (C, C++ or CUDA "
                         "programs)");
  }
  const size_t sep = req.op.find("::");
  const std::string ns = sep == std::string::npos ? "" : req.op.substr(0, sep);
  const std::string name = sep == std::string::npos ? "" : req.op.substr(sep + 2);
  if (!IsIdentifier(ns) || !IsIdentifier(name)) {
    return Status::Error("--torch-op: expected NAMESPACE::NAME of identifiers, got '" + req.op +
                         "'");
  }
  const std::string package = req.out.filename().string();
  if (!IsIdentifier(package)) {
    return Status::Error(
        "--out: the directory's name is the package's and must be a Python "
        "identifier, got '" +
        package + "'");
  }
  const std::string ext = req.program.extension().string();
  const bool cuda = task.backend == backends::BackendKind::kCuda;
  if (cuda ? ext != ".cu" : (ext != ".c" && ext != ".cc" && ext != ".cpp")) {
    return Status::Error(req.program.string() + ": task " + task.name + " takes " +
                         (cuda ? "a CUDA program (.cu)" : "a C or C++ program (.c, .cc, .cpp)"));
  }
  const std::string source = ReadFile(req.program);
  if (source.empty()) return Status::Error(req.program.string() + ": empty or unreadable");
  const std::string runtime = ReadFile(req.runtime);
  if (runtime.empty()) return Status::Error(req.runtime.string() + ": the op runtime is missing");

  std::error_code ec;
  fs::create_directories(req.out, ec);
  if (ec) return Status::Error("cannot create " + req.out.string() + ": " + ec.message());
  const std::string kernel_name = "kernel" + ext;
  std::string symbol = task.entry, build_source = kernel_name;
  if (cuda && backends::cuda::IsKernelOnly(source)) {
    symbol = "kforge_launch_" + task.entry;
    auto wrapper = LaunchWrapper(task, source, kernel_name, symbol);
    if (!wrapper.ok())
      return Status::Error(req.program.string() + ": " + wrapper.status().message());
    build_source = "launch.cu";
    if (auto s = WriteText(req.out / build_source, *wrapper); !s.ok()) return s;
  }
  json spec = {{"op", ns + "::" + name},
               {"task", task.name},
               {"description", task.description},
               {"backend", backends::BackendName(task.backend)},
               {"entry", task.entry},
               {"symbol", symbol},
               {"source", kernel_name},
               {"build_source", build_source},
               {"program", req.program.filename().string()},
               {"params", task.params},
               {"inputs", json::array()},
               {"outputs", json::array()}};
  for (const auto& t : task.inputs) spec["inputs"].push_back(TensorJson(t));
  for (const auto& t : task.outputs) spec["outputs"].push_back(TensorJson(t));

  std::ostringstream readme;
  readme << "# " << package << ": " << ns << "::" << name << "\n\n"
         << "The " << (cuda ? "CUDA" : "C") << " program `" << kernel_name << "` (from "
         << req.program.filename().string() << ") of kforge task `" << task.name
         << "`, registered as the PyTorch custom op `" << ns << "::" << name << "`.\n\n"
         << task.description << "\n\n"
         << "```python\nimport sys; sys.path.insert(0, \"PARENT_OF_THIS_DIRECTORY\")\nimport "
         << package << "\nouts = " << package << "." << name << "(...)  # or torch.ops." << ns
         << "." << name << "(...)\n```\n\n"
         << "Arguments and their shapes are in `spec.json` (shapes as expressions over the sizes "
            "`"
         << nlohmann::json(task.params).dump()
         << "`). Wrong dtypes raise TypeError, wrong "
            "shapes, devices or integer values outside their range ValueError; non-contiguous "
            "inputs are copied first. The first call compiles the program with "
         << (cuda ? "nvcc (`$NVCC`, else `nvcc` on PATH, else `$CUDA_HOME/bin/nvcc`)"
                  : "the C/C++ compiler (`$CC`/`$CXX`, else cc/c++)")
         << " into `$KFORGE_EXPORT_CACHE` (default `~/.cache/kforge-export`), keyed by the "
            "source's hash.\n";

  for (auto [file, text] : {std::pair<std::string, std::string>{kernel_name, source},
                            {"_runtime.py", runtime},
                            {"spec.json", spec.dump(2) + "\n"},
                            {"__init__.py", InitPy(task, ns, name, req.program)},
                            {"README.md", readme.str()}}) {
    if (auto s = WriteText(req.out / file, text); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace kf::exporter
