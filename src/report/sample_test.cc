#include "sample.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace pomona::report {
namespace {

using ::testing::ElementsAre;
using ::testing::IsSupersetOf;

std::vector<std::string> names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("img_" + std::to_string(i) + ".jpg");
  return out;
}

std::vector<std::string> sample_of(const std::vector<std::string>& keys, int64_t capacity) {
  BottomHashSample<std::string> sample(capacity);
  for (size_t i = 0; i < keys.size(); ++i) sample.offer(stable_hash(keys[i]), i, keys[i]);
  std::vector<std::string> taken = sample.take_in_arrival_order();
  std::sort(taken.begin(), taken.end());
  return taken;
}

TEST(StableHash, IsFixedAcrossRunsAndPlatforms) {
  // FNV-1a("a") = 0xaf63dc4c8601ec8c, then the splitmix64 finaliser.
  EXPECT_EQ(stable_hash("a"), 0x02c0bdbf481420f8ull);
  EXPECT_NE(stable_hash("img_001.jpg"), stable_hash("img_002.jpg"));
}

TEST(BottomHashSample, KeepsAtMostCapacityAndCountsWhatWasOffered) {
  BottomHashSample<int> sample(10);
  for (int i = 0; i < 1000; ++i) sample.offer(stable_hash(std::to_string(i)), i, i);
  EXPECT_EQ(sample.offered(), 1000);
  EXPECT_EQ(sample.take_in_arrival_order().size(), 10u);
}

TEST(BottomHashSample, DrawsTheSameRowsWhateverTheirOrder) {
  std::vector<std::string> keys = names(500);
  const std::vector<std::string> in_order = sample_of(keys, 40);
  std::shuffle(keys.begin(), keys.end(), std::mt19937(7));
  EXPECT_EQ(sample_of(keys, 40), in_order);
  EXPECT_EQ(in_order.size(), 40u);
}

TEST(BottomHashSample, ARowSampledFromMoreRowsIsSampledFromFewerToo) {
  // Bottom-k sampling is consistent: appending rows only ever pushes rows out of the sample.
  const std::vector<std::string> first_half = sample_of(names(300), 50);
  std::vector<std::string> from_first_half_of_all;
  for (const std::string& name : sample_of(names(600), 50)) {
    if (std::stoi(name.substr(4)) < 300) from_first_half_of_all.push_back(name);
  }
  EXPECT_FALSE(from_first_half_of_all.empty());
  EXPECT_THAT(first_half, IsSupersetOf(from_first_half_of_all));
}

TEST(BottomHashSample, ReturnsItemsInArrivalOrder) {
  BottomHashSample<int> sample(100);
  for (int i = 0; i < 5; ++i) sample.offer(stable_hash(std::to_string(i)), i, i * 10);
  EXPECT_THAT(sample.take_in_arrival_order(), ElementsAre(0, 10, 20, 30, 40));
}

TEST(BottomHashSample, BreaksTiesOfDuplicateKeysByArrival) {
  BottomHashSample<int> sample(2);
  for (int i = 0; i < 5; ++i) sample.offer(stable_hash("same.jpg"), i, i);
  EXPECT_THAT(sample.take_in_arrival_order(), ElementsAre(0, 1));
}

}  // namespace
}  // namespace pomona::report
