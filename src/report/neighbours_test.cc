#include "neighbours.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pomona::report {
namespace {

using ::testing::ElementsAre;

TEST(LeaveOneOutAgreement, IsCompleteForSeparateClusters) {
  // Two labels, 3 points each, around (0, 0) and (10, 10).
  const std::vector<float> points = {0, 0, 0.1f, 0, 0, 0.2f, 10, 10, 10.1f, 10, 10, 10.3f};
  const std::vector<int> labels = {0, 0, 0, 1, 1, 1};
  const NeighbourAgreement result = leave_one_out_agreement(points, 2, labels, 2);
  EXPECT_EQ(result.rows, 6);
  EXPECT_EQ(result.matches, 6);
  EXPECT_THAT(result.rows_per_label, ElementsAre(3, 3));
  EXPECT_THAT(result.matches_per_label, ElementsAre(3, 3));
  EXPECT_DOUBLE_EQ(result.chance_matches, 2 * 3.0 * 2 / 5);
}

TEST(LeaveOneOutAgreement, NeverCountsAPointAsItsOwnNeighbour) {
  // Alternating labels on a line: every nearest other point has the other label; the first of two
  // equally near neighbours counts.
  const std::vector<float> points = {0, 1, 2, 3};
  const std::vector<int> labels = {0, 1, 0, 1};
  const NeighbourAgreement result = leave_one_out_agreement(points, 1, labels, 2);
  EXPECT_EQ(result.matches, 0);
  EXPECT_THAT(result.matches_per_label, ElementsAre(0, 0));
}

TEST(LeaveOneOutAgreement, UsesEveryDimension) {
  // In the first dimension alone point 0's nearest is point 1 (other label); the second dimension
  // makes point 2 (same label) nearer.
  const std::vector<float> points = {0, 0, 0.5f, 5, 1, 0};
  const std::vector<int> labels = {0, 1, 0};
  EXPECT_EQ(leave_one_out_agreement(points, 2, labels, 2).matches_per_label[0], 2);
  EXPECT_EQ(leave_one_out_agreement(std::vector<float>{0, 0.5f, 1}, 1, labels, 2).matches, 0);
}

TEST(LeaveOneOutAgreement, NeedsTwoPoints) {
  const NeighbourAgreement result =
      leave_one_out_agreement(std::vector<float>{1, 2}, 2, std::vector<int>{0}, 1);
  EXPECT_EQ(result.rows, 0);
  EXPECT_EQ(result.matches, 0);
}

}  // namespace
}  // namespace pomona::report
