#include <gtest/gtest.h>

#include <thread>

#include "pomona/pipeline.h"

namespace pomona {
namespace {

TEST(FeaturizeLimits, ThreadsFromZeroForAllCoresToTheMost) {
  EXPECT_EQ(check_threads(0).value(), 0);
  EXPECT_EQ(check_threads(kMaxThreads).value(), kMaxThreads);
  EXPECT_EQ(check_threads(-1).error(), "must be 0 (all cores) to 1024, not -1");
  EXPECT_EQ(check_threads(kMaxThreads + 1).error(), "must be 0 (all cores) to 1024, not 1025");
  EXPECT_FALSE(check_threads(int64_t{1} << 32).ok());  // not wrapped around to 0
}

TEST(FeaturizeLimits, BatchFromOneToTheMost) {
  EXPECT_EQ(check_batch(1).value(), 1);
  EXPECT_EQ(check_batch(kMaxBatch).value(), kMaxBatch);
  EXPECT_EQ(check_batch(0).error(), "must be 1 to 256, not 0");
  EXPECT_EQ(check_batch(257).error(), "must be 1 to 256, not 257");
}

TEST(FeaturizeLimits, ZeroThreadsMeansEveryCore) {
  EXPECT_EQ(thread_budget(3), 3);
  EXPECT_EQ(thread_budget(0), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace pomona
