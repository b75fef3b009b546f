#include "search/prompts.h"

#include <cstdio>
#include <cstdlib>

#include "util/files.h"

namespace kf::search {
namespace fs = std::filesystem;

fs::path BuiltinPromptsDir() {
  if (const char* v = std::getenv("KFORGE_PROMPTS"); v && *v) return v;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::is_directory(exe.parent_path().parent_path() / "prompts")) {
    return exe.parent_path().parent_path() / "prompts";
  }
  return fs::path(KFORGE_SOURCE_DIR) / "prompts";
}

Result<Prompts> LoadPrompts(const fs::path& dir) {
  Prompts p;
  for (auto [name, out] : {std::pair{"system.md", &p.system}, std::pair{"task.md", &p.task},
                           std::pair{"retry.md", &p.retry}, std::pair{"evolve.md", &p.evolve},
                           std::pair{"first.md", &p.first}}) {
    fs::path file =
        !dir.empty() && fs::exists(dir / name) ? dir / name : BuiltinPromptsDir() / name;
    *out = ReadFile(file);
    if (out->empty())
      return Status::Error("prompt template " + file.string() + " is missing or empty");
  }
  return p;
}

std::string Fill(const std::string& tmpl, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = tmpl.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(tmpl, pos, open - pos);
    const std::string name = tmpl.substr(open + 2, close - open - 2);
    auto it = vars.find(name);
    out += it != vars.end() ? it->second : tmpl.substr(open, close + 2 - open);
    pos = close + 2;
  }
  out.append(tmpl, pos, std::string::npos);
  return out;
}

namespace {

std::string ShapeText(const task::TensorSpec& t) {
  std::string s;
  for (const auto& d : t.shape) s += (s.empty() ? "" : ", ") + d;
  return "[" + s + "]";
}

std::string Trim(std::string s, size_t max) {
  if (s.size() <= max) return s;
  return s.substr(0, max) + "\n... (" + std::to_string(s.size() - max) + " more characters)";
}

}  // namespace

namespace {

std::string params_text(const task::Task& t) {
  std::string params;
  for (const auto& in : t.inputs)
    params += (params.empty() ? "" : ", ") +
              ("const " + task::CTypeName(in.dtype, t.backend == backends::BackendKind::kCuda) +
               "* " + in.name);
  for (const auto& out : t.outputs)
    params += ", " + task::CTypeName(out.dtype, t.backend == backends::BackendKind::kCuda) + "* " +
              out.name;
  for (const auto& p : t.params) params += ", int64_t " + p;
  return params;
}

std::string layout_text(const task::Task& t) {
  std::string layout;
  for (const auto& in : t.inputs)
    layout += "- input `" + in.name + "`: " + ShapeText(in) + ", row-major\n";
  for (const auto& out : t.outputs)
    layout += "- output `" + out.name + "`: " + ShapeText(out) + ", row-major\n";
  return layout;
}

}  // namespace

std::string TaskAbi(const task::Task& t, const std::string& lang) {
  if (lang == "python") {
    return "A Python file defining `class ModelNew(nn.Module)` with the same constructor "
           "arguments as `Model` (parameters created in the same order get the same values) and "
           "a `forward` taking the same inputs and returning the same outputs. It may use torch, "
           "triton, numpy and pure standard modules; nothing that reaches files, processes or "
           "the network.\n";
  }
  const std::string params = params_text(t);
  std::string layout;
  for (const auto& in : t.inputs)
    layout += "- input `" + in.name + "`: " + ShapeText(in) + ", row-major\n";
  for (const auto& out : t.outputs)
    layout += "- output `" + out.name + "`: " + ShapeText(out) + ", row-major\n";
  if (t.backend == backends::BackendKind::kCuda && lang == "cuda-kernel") {
    return "CUDA kernels only, compiled by NVRTC (no host code, no includes beyond <cstdint>), "
           "each launched as declared by a line at the top of the program:\n\n```cuda\n"
           "// kforge-launch: kernel=NAME grid=X,Y block=X shared=BYTES\n```\n\n"
           "Expressions use the size parameters with + - * / and parentheses, without spaces. "
           "Every kernel takes every input and output pointer, then every size as int64_t, in "
           "this order:\n\n```cuda\n__global__ void NAME(" +
           params_text(t) + ");\n```\n\n" + layout_text(t);
  }
  if (t.backend == backends::BackendKind::kCuda) {
    return "Host code compiled by nvcc into a shared object (include <cuda_runtime.h> and "
           "<cstdint>); the buffers are device pointers, launch on `stream`:\n\n```cuda\n"
           "extern \"C\" void " +
           t.entry + "(" + params + ", cudaStream_t stream);\n```\n\n" + layout;
  }
  return "A C function (compiled as C17 for .c, C++20 for .cc, -O3 -march=native):\n\n```c\nvoid " +
         t.entry + "(" + params + ");\n```\n\n" + layout;
}

namespace {

std::string Bytes(double b) {
  char buf[32];
  if (b >= 1 << 30) {
    std::snprintf(buf, sizeof(buf), "%.0f GiB", b / (1 << 30));
  } else if (b >= 1 << 20) {
    std::snprintf(buf, sizeof(buf), "%.0f MiB", b / (1 << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f KiB", b / 1024);
  }
  return buf;
}

std::string CpuText(const nlohmann::json& h) {
  std::string s = "CPU: " + h.value("model", std::string("?")) + ", " +
                  std::to_string(h.value("logical_cpus", 0)) + " logical CPUs.";
  std::string isa;
  for (const auto& f : h.value("isa", nlohmann::json::array())) {
    isa += (isa.empty() ? "" : " ") + f.get<std::string>();
  }
  if (!isa.empty()) s += " Vector and arithmetic extensions: " + isa + ".";
  std::string caches;
  for (const auto& c : h.value("caches", nlohmann::json::array())) {
    const std::string type = c.value("type", "");
    caches += (caches.empty() ? "" : ", ") + std::string("L") +
              std::to_string(c.value("level", 0)) +
              (type == "Data"          ? "d"
               : type == "Instruction" ? "i"
                                       : "") +
              " " + Bytes(c.value("bytes", 0.0)) + " (CPUs " + c.value("shared_by", "?") + ")";
  }
  if (!caches.empty()) s += " Caches per core group: " + caches + ".";
  return s + "\n";
}

std::string GpuText(const nlohmann::json& d) {
  std::string s = "GPU: " + d.value("name", std::string("?")) + ", compute capability " +
                  d.value("compute_capability", std::string("?")) + ", " +
                  std::to_string(d.value("sm_count", 0)) + " SMs, L2 " +
                  Bytes(d.value("l2_bytes", 0.0));
  if (d.contains("shared_memory_per_sm")) {
    s += ", per SM " + Bytes(d.value("shared_memory_per_sm", 0.0)) + " shared memory, " +
         std::to_string(d.value("registers_per_sm", 0)) + " 32-bit registers and " +
         std::to_string(d.value("max_threads_per_sm", 0)) + " threads; up to " +
         Bytes(d.value("shared_memory_per_block_optin", 0.0)) + " shared memory per block (opt-in)";
  }
  if (d.contains("memory_bytes")) s += ", " + Bytes(d.value("memory_bytes", 0.0)) + " memory";
  s += ".\n";
  if (d.contains("ceilings") && d["ceilings"].is_object()) {
    const auto& c = d["ceilings"];
    char line[256];
    std::snprintf(line, sizeof(line),
                  "Measured on this GPU: device copy %.0f GB/s, cuBLAS fp32 GEMM %.0f GFLOP/s, "
                  "bf16 GEMM %.0f GFLOP/s.\n",
                  c.value("copy_gbps", 0.0), c.value("fp32_gemm_gflops", 0.0),
                  c.value("bf16_gemm_gflops", 0.0));
    s += line;
  }
  return s;
}

}  // namespace

std::string MachineText(const Candidate& initial) {
  const auto& r = initial.result;
  const auto detail = r.value("detail", nlohmann::json::object());
  std::string s;
  if (detail.contains("device") && detail["device"].is_object()) s += GpuText(detail["device"]);
  if (detail.contains("host") && detail["host"].is_object()) s += CpuText(detail["host"]);
  if (r.contains("roofline") && r["roofline"].is_object()) {
    const auto& roof = r["roofline"];
    char line[512];
    std::snprintf(line, sizeof(line),
                  "Measured limits for this task: memory bandwidth %.1f GB/s (read + write), "
                  "arithmetic %.1f GFLOP/s. The task moves at least %.3g MB and does %.3g GFLOP "
                  "per call at the timed sizes: no program can take less than %.4f ms.",
                  roof.value("peak_gbps", 0.0), roof.value("peak_gflops", 0.0),
                  roof.value("bytes", 0.0) / 1e6, roof.value("flops", 0.0) / 1e9,
                  roof.value("floor_ms", 0.0));
    s += line;
  }
  return s.empty() ? "(not measured)" : s;
}

std::string ToleranceText(const task::Task& t) {
  std::string s;
  for (const auto& out : t.outputs) {
    const task::Tolerance tol = t.ToleranceFor(out);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "- `%s`: every element within %g + %g * |reference|, and the relative error "
                  "norm ||out - ref|| / ||ref|| within %g; NaN or Inf where the reference has "
                  "none fails.\n",
                  out.name.c_str(), tol.atol, tol.rtol, tol.rel_norm);
    s += line;
  }
  return s;
}

std::string DistributionsText(const task::Task& t) {
  if (t.torch) {
    return "drawn by the module's own get_inputs() under fresh secret seeds (the module's "
           "parameters as its constructor makes them)";
  }
  std::string s;
  for (const auto& d : t.distributions) {
    char buf[128];
    if (d.kind == task::Distribution::Kind::kNormal) {
      std::snprintf(buf, sizeof(buf), "%s (normal, mean %g, std %g)", d.name.c_str(), d.a, d.b);
    } else {
      std::snprintf(buf, sizeof(buf), "%s (uniform on [%g, %g])", d.name.c_str(), d.a, d.b);
    }
    s += (s.empty() ? "" : "; ") + std::string(buf);
  }
  for (const auto& in : t.inputs) {
    if (in.distribution) s += "; input `" + in.name + "` always from " + in.distribution->name;
  }
  return s.empty() ? "(the task's defaults)" : s;
}

std::string CheckSizesText(const task::Task& t) {
  std::string s;
  for (const auto& sizes : t.check_sizes) s += "- " + task::SizesToString(sizes) + "\n";
  s += "- " + task::SizesToString(t.bench_sizes) + " (the timed sizes)\n";
  return s;
}

std::string BaselineLabel(const nlohmann::json& result) {
  const std::string name = result.is_object() ? result.value("baseline_name", "") : "";
  return name.empty() || name == "initial program" ? "the initial program" : name;
}

std::string SummaryText(const Candidate& c) {
  char line[256];
  if (c.verdict == "ok") {
    std::snprintf(line, sizeof(line), "ok: %.4f ms, %.2fx the speed of %s", c.time_ms, c.speedup,
                  BaselineLabel(c.result).c_str());
    return line;
  }
  return c.verdict;
}

std::string FeedbackText(const Candidate& c) {
  if (!c.feedback.empty() && c.result.empty()) return c.feedback;  // no program to judge
  const auto& r = c.result;
  std::string s = "Verdict: " + c.verdict + ".";
  const auto detail = r.value("detail", nlohmann::json::object());
  if (c.verdict == "ok") {
    char line[512];
    std::snprintf(line, sizeof(line), " Median time %.4f ms; %s takes %.4f ms: %.2fx.", c.time_ms,
                  BaselineLabel(r).c_str(), r.value("baseline_time_ms", 0.0), c.speedup);
    s += line;
    if (r.contains("time_ms") && r["time_ms"].is_object()) {
      const auto& t = r["time_ms"];
      std::snprintf(line, sizeof(line),
                    " Spread over %d timed batches: p10 %.4f ms, p90 %.4f ms; the median's 95%% "
                    "interval is within %.1f%%.",
                    t.value("runs", 0), t.value("p10", 0.0), t.value("p90", 0.0),
                    100 * t.value("ci95_rel", 0.0));
      s += line;
    }
    if (detail.contains("baseline_check") && !detail["baseline_check"].value("believed", true)) {
      s += " (The baseline's timing in this evaluation was far from its earlier ones and is not "
           "believed: the speedup is against its earlier timings.)";
    }
    if (r.contains("roofline") && r["roofline"].is_object()) {
      std::snprintf(line, sizeof(line),
                    " Achieved %.1f GB/s and %.2f GFLOP/s: %.0f%% of the machine's limit for "
                    "this task.",
                    r["roofline"].value("achieved_gbps", 0.0),
                    r["roofline"].value("achieved_gflops", 0.0),
                    100 * r["roofline"].value("fraction", 0.0));
      s += line;
    }
    for (const auto& b : r.value("baselines", nlohmann::json::array())) {
      std::snprintf(line, sizeof(line), " Against %s: %.2fx.",
                    b.value("name", std::string("?")).c_str(), b.value("speedup", 0.0));
      s += line;
    }
  } else {
    s += "\n" + Trim(detail.value("message", std::string()), 4000);
    if (detail.contains("compiler_log") && detail["compiler_log"].is_string()) {
      s += "\nCompiler output:\n" + Trim(detail["compiler_log"].get<std::string>(), 4000);
    }
  }
  if (detail.contains("resources") && detail["resources"].is_array() &&
      !detail["resources"].empty()) {
    s += "\nResources per kernel: " + detail["resources"].dump();
  }
  if (detail.contains("sass") && detail["sass"].is_object()) {
    s += "\nInstruction counts (SASS): " + detail["sass"].dump();
  }
  return s;
}

std::string WholeProgramAnswer(const std::string& lang) {
  return "Reply with the complete program in one ```" + lang +
         " block. Explain briefly, before the block, what you changed and why it should be "
         "faster.";
}

std::string EditsAnswer() {
  return "Reply with SEARCH/REPLACE edits to the current program, in the form given at the end "
         "of this prompt. Explain briefly, before the edits, what you change and why it should "
         "be faster.";
}

std::vector<llm::Message> TaskMessages(const Prompts& prompts, const task::Task& task,
                                       const std::string& lang, const Candidate& parent,
                                       const Candidate& initial, const std::string& history,
                                       const std::string& answer) {
  const bool cuda = task.backend == backends::BackendKind::kCuda;
  std::map<std::string, std::string> vars = {
      {"backend_name", cuda ? "CUDA" : "C/C++ CPU"},
      {"threads_rule", task.allows_threads
                           ? "You may use threads (OpenMP is enabled)."
                           : (cuda ? "Use the given stream; do not synchronise the device."
                                   : "Use one thread: no OpenMP, pthreads or std::thread.")},
      {"extra_libs", cuda ? " and the CUDA runtime" : ""},
      {"lang", lang},
      {"task_name", task.name},
      {"task_description", task.description},
      {"abi", TaskAbi(task)},
      {"bench_sizes", task::SizesToString(task.bench_sizes)},
      {"check_sizes", CheckSizesText(task)},
      {"tolerance", ToleranceText(task)},
      {"distributions", DistributionsText(task)},
      {"answer_format", answer.empty() ? WholeProgramAnswer(lang) : answer},
      {"reference", Trim(task.torch ? task.torch->source : ReadFile(task.reference), 6000)},
      {"reference_lang", task.torch ? "python" : "c"},
      {"reference_note",
       task.torch ? "a PyTorch module: forward's inputs, then the module's parameters and "
                    "buffers in named_parameters() order, are the program's inputs"
                  : "in float64"},
      {"machine", MachineText(initial)},
      {"parent_id", std::to_string(parent.id)},
      {"parent_summary", SummaryText(parent)},
      {"parent_code", parent.code},
      {"parent_feedback", FeedbackText(parent)},
      {"history", history.empty() ? "" : "\n## Already tried\n\n" + history + "\n"},
  };
  return {{"system", Fill(prompts.system, vars)}, {"user", Fill(prompts.task, vars)}};
}

std::vector<llm::Message> FirstProgramMessages(const Prompts& prompts, const task::Task& task,
                                               const std::string& lang,
                                               const std::string& history) {
  Candidate none;
  none.verdict = "none";
  const std::string fence = lang == "cuda-kernel" ? "cuda" : lang;
  auto messages = TaskMessages(prompts, task, fence, none, none, history);
  const bool cuda = task.backend == backends::BackendKind::kCuda;
  const std::string name = lang == "python"        ? "ModelNew (Python)"
                           : lang == "cuda-kernel" ? "CUDA kernel-only"
                           : cuda                  ? "CUDA"
                                                   : "C";
  std::map<std::string, std::string> vars = {
      {"task_name", task.name},
      {"task_description", task.description},
      {"language_name", name},
      {"abi", TaskAbi(task, lang)},
      {"bench_sizes", task::SizesToString(task.bench_sizes)},
      {"check_sizes", CheckSizesText(task)},
      {"distributions", DistributionsText(task)},
      {"tolerance", ToleranceText(task)},
      {"reference", Trim(task.torch ? task.torch->source : ReadFile(task.reference), 6000)},
      {"reference_lang", task.torch ? "python" : "c"},
      {"reference_note", "PyTorch eager"},
      {"history", history.empty() ? "" : "\n## Already tried\n\n" + history},
      {"answer_format", WholeProgramAnswer(fence)}};
  messages.back().content = Fill(prompts.first, vars);
  return messages;
}

std::string RetryMessage(const Prompts& prompts, const std::string& lang, const Candidate& c,
                         const std::string& instruction) {
  return Fill(prompts.retry, {{"candidate_id", std::to_string(c.id)},
                              {"verdict", SummaryText(c)},
                              {"feedback", FeedbackText(c)},
                              {"instruction", instruction},
                              {"lang", lang}});
}

}  // namespace kf::search
