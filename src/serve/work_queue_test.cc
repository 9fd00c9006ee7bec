#include "work_queue.h"

#include <gtest/gtest.h>

namespace pomona::serving {
namespace {

using std::chrono::milliseconds;

const Clock::time_point t0{};

TEST(WorkQueue, refuses_at_once_when_full_and_hands_out_queued_jobs_after_close) {
  WorkQueue queue(2, 1, milliseconds(1000), milliseconds(1));
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kFull);
  EXPECT_EQ(queue.depth(), 2u);
  queue.close();
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kClosed);
  EXPECT_NE(queue.pop(), nullptr);
  EXPECT_NE(queue.pop(), nullptr);
  EXPECT_EQ(queue.pop(), nullptr);
}

// 2 networks, 10 ms a job, a budget of 10 ms: free networks first, then waits of 5 and 10 ms;
// a fifth job would expect 15 ms and is refused although places are left.
TEST(WorkQueue, admits_while_the_expected_wait_stays_within_the_budget) {
  WorkQueue queue(100, 2, milliseconds(10), milliseconds(10));
  EXPECT_EQ(queue.expected_wait(), milliseconds(0));
  ASSERT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  EXPECT_EQ(queue.expected_wait(), milliseconds(0));  // the second network is free
  ASSERT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  ASSERT_NE(queue.pop(), nullptr);
  ASSERT_NE(queue.pop(), nullptr);  // both networks busy, none queued
  EXPECT_EQ(queue.expected_wait(), milliseconds(5));
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  EXPECT_EQ(queue.expected_wait(), milliseconds(10));
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  Clock::duration expected{};
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0, &expected), Admission::kOverBudget);
  EXPECT_EQ(expected, milliseconds(15));
  EXPECT_EQ(queue.depth(), 2u);
  // A network frees: a queued job takes it, so one job fewer is ahead and one more fits.
  queue.finish(milliseconds(10));
  EXPECT_EQ(queue.expected_wait(), milliseconds(10));
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kOverBudget);
}

// Jobs taking longer than estimated (a loaded machine) move the estimate an eighth of the way
// per job, and the same queue then admits fewer.
TEST(WorkQueue, slower_jobs_shrink_the_admitted_queue) {
  WorkQueue queue(100, 2, milliseconds(10), milliseconds(10));
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
    ASSERT_NE(queue.pop(), nullptr);
  }
  queue.finish(milliseconds(26));  // 10 + (26 - 10) / 8 = 12 ms
  EXPECT_EQ(queue.per_job(), milliseconds(12));
  ASSERT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
  ASSERT_NE(queue.pop(), nullptr);                                               // 2 busy again
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);  // expects 6 ms
  EXPECT_EQ(queue.expected_wait(), milliseconds(12));
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kOverBudget);  // 12 > 10
  // Shed and abandoned jobs free their network without moving the estimate.
  queue.finish(std::nullopt);
  EXPECT_EQ(queue.per_job(), milliseconds(12));
  EXPECT_EQ(queue.try_push(std::make_shared<Job>(), t0), Admission::kAdmitted);
}

TEST(WorkQueue, a_job_that_waited_its_turn_past_the_budget_is_overdue) {
  WorkQueue queue(100, 1, milliseconds(10), milliseconds(1));
  auto first = std::make_shared<Job>();
  ASSERT_EQ(queue.try_push(first, t0), Admission::kAdmitted);
  ASSERT_EQ(queue.pop(), first);
  auto behind = std::make_shared<Job>();
  ASSERT_EQ(queue.try_push(behind, t0 + milliseconds(100)), Admission::kAdmitted);
  EXPECT_EQ(behind->queued_at, t0 + milliseconds(100));
  EXPECT_FALSE(queue.overdue(*behind, t0 + milliseconds(110)));
  EXPECT_TRUE(queue.overdue(*behind, t0 + milliseconds(111)));
}

// Its only wait was the hand-off to a worker thread, however late the scheduler ran that: a
// budget below the scheduler's latency (a tiny network's time per image) sheds no lone request.
TEST(WorkQueue, a_job_that_found_a_network_free_is_never_overdue) {
  WorkQueue queue(100, 2, milliseconds(1), milliseconds(1));
  auto job = std::make_shared<Job>();
  ASSERT_EQ(queue.try_push(job, t0), Admission::kAdmitted);
  EXPECT_FALSE(queue.overdue(*job, t0 + std::chrono::hours(1)));
}

}  // namespace
}  // namespace pomona::serving
