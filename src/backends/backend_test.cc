#include "backends/backend.h"

#include <gtest/gtest.h>

namespace kf::backends {
namespace {

TEST(BackendRegistryTest, EveryKindHasItsBackendAndNameRoundTrips) {
  for (BackendKind kind : {BackendKind::kCpu, BackendKind::kCuda}) {
    const Backend& b = GetBackend(kind);
    EXPECT_EQ(b.kind(), kind);
    auto parsed = ParseBackendKind(b.name());
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, kind);
    EXPECT_EQ(BackendName(kind), b.name());
  }
  EXPECT_EQ(AllBackends().size(), 2u);
  EXPECT_EQ(BackendNames(), (std::vector<std::string>{"cpu", "cuda"}));
}

TEST(BackendRegistryTest, WorkersAndLanguagesAreTheBackends) {
  EXPECT_EQ(GetBackend(BackendKind::kCpu).worker_executable(), "kforge-cpu-worker");
  EXPECT_EQ(GetBackend(BackendKind::kCuda).worker_executable(), "kforge-cuda-worker");
  EXPECT_EQ(GetBackend(BackendKind::kCpu).FenceTag(".c"), "c");
  EXPECT_EQ(GetBackend(BackendKind::kCpu).FenceTag(".cc"), "cpp");
  EXPECT_EQ(GetBackend(BackendKind::kCuda).FenceTag(".cu"), "cuda");
  EXPECT_EQ(GetBackend(BackendKind::kCpu).ProgramExtension(".c"), ".c");
  EXPECT_EQ(GetBackend(BackendKind::kCpu).ProgramExtension(".cpp"), ".cc");
  EXPECT_EQ(GetBackend(BackendKind::kCuda).ProgramExtension(""), ".cu");
  EXPECT_EQ(GetBackend(BackendKind::kCpu).DeviceCount(), 1);
  EXPECT_EQ(GetBackend(BackendKind::kCpu).TorchDevice(3), "cpu");
  EXPECT_EQ(GetBackend(BackendKind::kCuda).TorchDevice(3), "cuda:3");
}

TEST(BackendRegistryTest, SourcesFindTheirBackendByExtension) {
  EXPECT_EQ(BackendForSource("a/k.cu")->kind(), BackendKind::kCuda);
  for (const char* f : {"k.c", "k.cc", "k.cpp", "k.cxx"}) {
    ASSERT_NE(BackendForSource(f), nullptr) << f;
    EXPECT_EQ(BackendForSource(f)->kind(), BackendKind::kCpu) << f;
  }
  EXPECT_EQ(BackendForSource("model.py"), nullptr);
  EXPECT_EQ(BackendForSource("k.metal"), nullptr);
}

TEST(BackendParseTest, AnUnknownNameIsAClearError) {
  for (const char* bad : {"", "CUDA", "gpu", "torch", "metal", " cpu"}) {
    auto r = ParseBackendKind(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), "expected 'cpu' or 'cuda', got '" + std::string(bad) + "'");
  }
}

TEST(BackendCeilingsTest, AGpuKeepsItsFiguresUntilAskedAndThenTheHigher) {
  const Backend& gpu = GetBackend(BackendKind::kCuda);
  int asked = 0;
  CeilingsProbe probe = [&](double) -> Result<nlohmann::json> {
    ++asked;
    return nlohmann::json{
        {"copy_gbps", 100.0}, {"fp32_gemm_gflops", 50.0}, {"bf16_gemm_gflops", 400.0}};
  };
  auto first = gpu.MeasureCeilings("", probe, std::nullopt, false);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->ceilings.gflops_per_unit, 400.0);
  EXPECT_EQ(first->ceilings.fp32_gflops, 50.0);
  EXPECT_FALSE(first->raw.is_null());
  Ceilings higher = first->ceilings;
  higher.copy_gbps = 200;
  auto kept = gpu.MeasureCeilings("", probe, higher, false);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(kept->ceilings.copy_gbps, 200.0);
  auto again = gpu.MeasureCeilings("", probe, higher, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(again->ceilings.copy_gbps, 200.0);  // a busy machine measures low: keep the best

  CeilingsProbe failing = [](double) -> Result<nlohmann::json> {
    return Status::Error("worker died");
  };
  auto err = gpu.MeasureCeilings("", failing, std::nullopt, false);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().message(), "measuring the GPU's ceilings: worker died");
}

}  // namespace
}  // namespace kf::backends
