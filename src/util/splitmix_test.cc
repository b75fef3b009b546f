#include "util/splitmix.h"

#include <gtest/gtest.h>

namespace kf {
namespace {

TEST(SplitMix64, MatchesTheReferenceSequence) {
  uint64_t state = 0;
  EXPECT_EQ(SplitMix64(&state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64(&state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(SplitMix64(&state), 0x06c45d188009454fULL);
  EXPECT_EQ(SplitMix64Of(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64Of(0x9e3779b97f4a7c15ULL), 0x6e789e6aa1b965f4ULL);
}

}  // namespace
}  // namespace kf
