#include "backends/cuda/nsight.h"

#include <gtest/gtest.h>

namespace kf::backends::cuda {
namespace {

// The shape of `ncu --csv --page raw` output: a header of metric names, a row of units, one row
// per profiled kernel; ncu's own ==PROF== lines around it.
TEST(NsightTest, ReadsKernelRowsWithUnits) {
  const std::string csv =
      "==PROF== Connected to process 42 (/build/kforge-cuda-worker)\n"
      "\"ID\",\"Process ID\",\"Kernel Name\",\"dram__bytes.sum\","
      "\"dram__throughput.avg.pct_of_peak_sustained_elapsed\",\"gpu__time_duration.sum\","
      "\"launch__registers_per_thread\",\"sm__throughput.avg.pct_of_peak_sustained_elapsed\"\n"
      "\"\",\"\",\"\",\"Mbyte\",\"%\",\"usecond\",\"register/thread\",\"%\"\n"
      "\"0\",\"42\",\"softmax_rows_kernel(const float *, float *, long, long)\",\"268.44\","
      "\"88.1\",\"1,103.52\",\"32\",\"21.5\"\n"
      "\"1\",\"42\",\"scale\",\"1.00\",\"10\",\"2.5\",\"16\",\"5\"\n"
      "==PROF== Disconnected from process 42\n";
  auto r = ParseNcuCsv(csv);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)["kernels"].size(), 2u);
  const auto& k = (*r)["kernels"][0];
  EXPECT_EQ(k["name"], "softmax_rows_kernel(const float *, float *, long, long)");
  EXPECT_DOUBLE_EQ(k["gpu_time_us"].get<double>(), 1103.52);
  EXPECT_DOUBLE_EQ(k["dram_bytes"].get<double>(), 268.44e6);
  EXPECT_DOUBLE_EQ(k["dram_pct"].get<double>(), 88.1);
  EXPECT_EQ(k["registers"].get<double>(), 32);
  EXPECT_DOUBLE_EQ((*r)["gpu_time_us"].get<double>(), 1106.02);
}

TEST(NsightTest, NanosecondsAreConverted) {
  // Nsight Compute of CUDA 13 writes "ns"; older releases "nsecond".
  for (const std::string unit : {"nsecond", "ns"}) {
    const std::string csv =
        "\"ID\",\"Kernel Name\",\"gpu__time_duration.sum\"\n"
        "\"\",\"\",\"" +
        unit +
        "\"\n"
        "\"0\",\"k\",\"119,552\"\n";
    auto r = ParseNcuCsv(csv);
    ASSERT_TRUE(r.ok());
    EXPECT_DOUBLE_EQ((*r)["gpu_time_us"].get<double>(), 119.552) << unit;
  }
}

TEST(NsightTest, NoKernelRowIsAnError) {
  EXPECT_FALSE(ParseNcuCsv("==PROF== No kernels were profiled.\n").ok());
  EXPECT_FALSE(ParseNcuCsv("").ok());
}

}  // namespace
}  // namespace kf::backends::cuda
