#include "backends/cuda/machine_code.h"

#include <gtest/gtest.h>

namespace kf::backends::cuda {
namespace {

TEST(PtxasResourcesTest, ReadsRegistersSharedMemoryAndSpillsPerKernel) {
  const std::string log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function '_Z4fastPKfPfll' for 'sm_90a'\n"
      "ptxas info    : Function properties for _Z4fastPKfPfll\n"
      "    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads\n"
      "ptxas info    : Used 40 registers, used 1 barriers, 2048 bytes smem, 400 bytes cmem[0]\n"
      "ptxas info    : Compiling entry function '_Z5naivePKfPfll' for 'sm_90a'\n"
      "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 12 registers, used 0 barriers, 384 bytes cmem[0]\n";
  const auto k = ParsePtxasResources(log);
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k[0]["kernel"], "_Z4fastPKfPfll");
  EXPECT_EQ(k[0]["registers"], 40);
  EXPECT_EQ(k[0]["shared_bytes"], 2048);
  EXPECT_EQ(k[0]["stack_bytes"], 16);
  EXPECT_EQ(k[0]["spill_stores"], 8);
  EXPECT_EQ(k[0]["spill_loads"], 4);
  EXPECT_EQ(k[1]["registers"], 12);
  EXPECT_FALSE(k[1].contains("shared_bytes"));
}

}  // namespace
}  // namespace kf::backends::cuda
