// Golden tests of the prompt templates: prompts rendered for fixed tasks, programs and machine
// facts, compared with the files checked in under tests/golden/prompts/. After a deliberate
// change to a template or to what fills it, regenerate them with
//   KFORGE_UPDATE_GOLDEN=1 build/tests/kforge_unit_tests --gtest_filter='PromptGolden*'
// (scripts/update_golden_prompts) and review the difference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "search/prompts.h"
#include "search/run_context.h"
#include "util/files.h"

namespace kf::search {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path GoldenDir() { return fs::path(KFORGE_SOURCE_DIR) / "tests" / "golden" / "prompts"; }

void ExpectGolden(const std::string& name, const std::string& text) {
  const fs::path file = GoldenDir() / name;
  if (const char* v = std::getenv("KFORGE_UPDATE_GOLDEN"); v && *v == '1') {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    return;
  }
  const std::string want = ReadFile(file);
  ASSERT_FALSE(want.empty()) << file << " is missing: regenerate with KFORGE_UPDATE_GOLDEN=1";
  EXPECT_EQ(text, want) << "the prompt " << name << " changed; if that is meant, regenerate "
                        << "with KFORGE_UPDATE_GOLDEN=1 and review the diff";
}

json Roofline() {
  return {{"flops", 5.0e7},          {"bytes", 3.2e7},    {"achieved_gbps", 10.0},
          {"achieved_gflops", 15.6}, {"peak_gbps", 20.0}, {"peak_gflops", 60.0},
          {"fraction", 0.5},         {"floor_ms", 1.6}};
}

Candidate Judged(int64_t id, const std::string& code, double ms, double speedup,
                 const json& machine) {
  Candidate c;
  c.id = id;
  c.code = code;
  c.verdict = "ok";
  c.time_ms = ms;
  c.speedup = speedup;
  c.result = {
      {"baseline_name", "initial program"},
      {"baseline_time_ms", ms * speedup},
      {"time_ms",
       {{"median", ms}, {"p10", ms * 0.98}, {"p90", ms * 1.05}, {"runs", 40}, {"ci95_rel", 0.004}}},
      {"speedup_ci", {speedup * 0.99, speedup * 1.01}},
      {"roofline", Roofline()},
      {"baselines", json::array()},
      {"detail", machine}};
  return c;
}

json CpuMachine() {
  return {{"message", "correct"},
          {"host",
           {{"model", "Example CPU @ 3.0GHz"},
            {"logical_cpus", 8},
            {"isa", {"sse4_2", "avx", "avx2", "fma", "avx512f"}},
            {"caches",
             {{{"level", 1}, {"type", "Data"}, {"bytes", 49152}, {"shared_by", "0,4"}},
              {{"level", 2}, {"type", "Unified"}, {"bytes", 2097152}, {"shared_by", "0,4"}},
              {{"level", 3}, {"type", "Unified"}, {"bytes", 33554432}, {"shared_by", "0-7"}}}}}}};
}

json GpuMachine() {
  return {
      {"message", "correct"},
      {"device",
       {{"name", "Example GPU"},
        {"compute_capability", "9.0"},
        {"sm_count", 132},
        {"l2_bytes", 52428800},
        {"memory_bytes", 85899345920},
        {"shared_memory_per_sm", 233472},
        {"shared_memory_per_block_optin", 232448},
        {"registers_per_sm", 65536},
        {"max_threads_per_sm", 2048},
        {"ceilings",
         {{"copy_gbps", 2989.5}, {"fp32_gemm_gflops", 51644.2}, {"bf16_gemm_gflops", 798000.0}}}}}};
}

std::string Render(const std::vector<llm::Message>& messages) {
  std::string s;
  for (const auto& m : messages) s += "### " + m.role + "\n\n" + m.content + "\n";
  return s;
}

struct Fixture {
  task::Task task;
  Prompts prompts;
  Candidate initial, parent;
};

Fixture Load(const std::string& task_dir, const json& machine) {
  Fixture f;
  auto t = task::LoadTask(fs::path(KFORGE_SOURCE_DIR) / "tasks" / task_dir);
  EXPECT_TRUE(t.ok()) << t.status().message();
  if (t.ok()) f.task = *t;
  // The checked-in templates, never an override from the environment.
  auto p = LoadPrompts(fs::path(KFORGE_SOURCE_DIR) / "prompts");
  EXPECT_TRUE(p.ok());
  if (p.ok()) f.prompts = *p;
  f.initial = Judged(1, ReadFile(f.task.initial), 12.5, 1.0, machine);
  f.parent = Judged(4, "// candidate #4\n" + ReadFile(f.task.initial), 3.1, 4.03, machine);
  return f;
}

TEST(PromptGoldenTest, AgentOnACpuTask) {
  Fixture f = Load("cpu/softmax_rows", CpuMachine());
  const std::string history =
      "- candidate #2 (round 1): compile_error\n- candidate #3 (round 1): ok: 6.2000 ms, "
      "2.02x the speed of the initial program\n";
  ExpectGolden("agent_cpu.md",
               Render(TaskMessages(f.prompts, f.task, "c", f.parent, f.initial, history)));
  Candidate slower = Judged(5, "// candidate #5\n", 4.0, 3.12, CpuMachine());
  ExpectGolden("retry_cpu.md",
               RetryMessage(f.prompts, "c", slower, Instruction(slower, f.parent, f.parent)));
}

TEST(PromptGoldenTest, EvolveEditsOnAGpuTask) {
  Fixture f = Load("cuda/softmax_rows", GpuMachine());
  auto messages = TaskMessages(f.prompts, f.task, "cuda", f.parent, f.initial, "", EditsAnswer());
  messages.back().content +=
      "\n" + Fill(f.prompts.evolve, {{"inspirations", "(none yet)\n"}, {"failures", ""}});
  ExpectGolden("evolve_gpu.md", Render(messages));
}

}  // namespace
}  // namespace kf::search
