#include "backends/cuda/launch_spec.h"

#include <gtest/gtest.h>

namespace kf::backends::cuda {
namespace {

TEST(LaunchSpecTest, ReadsKernelGridBlockAndSharedInOrder) {
  const std::string src =
      "#include <cstdint>\n"
      "// kforge-launch: kernel=rows_max<256> grid=rows block=256 shared=4*cols\n"
      "  //kforge-launch: kernel=scale grid=(cols+31)/32,rows block=32,8\n"
      "__global__ void scale() {}\n";
  ASSERT_TRUE(IsKernelOnly(src));
  auto specs = ParseLaunchSpecs(src, {"rows", "cols"});
  ASSERT_TRUE(specs.ok()) << specs.status().message();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].kernel, "rows_max<256>");
  EXPECT_EQ((*specs)[0].line, 2);
  EXPECT_EQ((*specs)[1].grid, (std::vector<std::string>{"(cols+31)/32", "rows"}));
  auto l = EvaluateLaunches(*specs, {{"rows", 7}, {"cols", 100}});
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ((*l)[0]["grid"], nlohmann::json({7, 1, 1}));
  EXPECT_EQ((*l)[0]["shared"], 400);
  EXPECT_EQ((*l)[1]["grid"], nlohmann::json({4, 7, 1}));
  EXPECT_EQ((*l)[1]["block"], nlohmann::json({32, 8, 1}));
}

TEST(LaunchSpecTest, HostCodeProgramsAreNotKernelOnly) {
  EXPECT_FALSE(IsKernelOnly("extern \"C\" void f() {}  // kforge-launch: in code\n"));
  EXPECT_FALSE(IsKernelOnly("int x; /* kforge-launch: kernel=k */\n"));
}

TEST(LaunchSpecTest, ErrorsNameTheLineAndTheProblem) {
  auto missing = ParseLaunchSpecs("\n// kforge-launch: kernel=k grid=n\n", {"n"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("line 2"), std::string::npos);
  EXPECT_NE(missing.status().message().find("block="), std::string::npos);

  auto unknown =
      ParseLaunchSpecs("// kforge-launch: kernel=k grid=(rowz+1)/2 block=64\n", {"rows", "cols"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'rowz'"), std::string::npos);

  auto spaces = ParseLaunchSpecs("// kforge-launch: kernel=k grid=n + 1 block=64\n", {"n"});
  ASSERT_FALSE(spaces.ok());
  EXPECT_NE(spaces.status().message().find("no spaces"), std::string::npos);

  auto key = ParseLaunchSpecs("// kforge-launch: kernel=k grid=n block=64 stream=2\n", {"n"});
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("unknown key 'stream'"), std::string::npos);

  auto dims = ParseLaunchSpecs("// kforge-launch: kernel=k grid=1,2,3,4 block=64\n", {});
  ASSERT_FALSE(dims.ok());
  EXPECT_NE(dims.status().message().find("1 to 3"), std::string::npos);

  EXPECT_FALSE(ParseLaunchSpecs("__global__ void k() {}\n", {}).ok());
}

TEST(LaunchSpecTest, DimensionsOutsideCudaLimitsAreErrorsAtThatSize) {
  auto specs = ParseLaunchSpecs("// kforge-launch: kernel=k grid=n/256 block=n\n", {"n"});
  ASSERT_TRUE(specs.ok());
  auto zero = EvaluateLaunches(*specs, {{"n", 100}});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("is 0 at n=100"), std::string::npos)
      << zero.status().message();
  auto big = EvaluateLaunches(*specs, {{"n", 4096}});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("allowed 1 to 1024"), std::string::npos);
  auto threads = ParseLaunchSpecs("// kforge-launch: kernel=k grid=1 block=64,32\n", {});
  ASSERT_TRUE(threads.ok());
  EXPECT_FALSE(EvaluateLaunches(*threads, {}).ok());
}

}  // namespace
}  // namespace kf::backends::cuda
