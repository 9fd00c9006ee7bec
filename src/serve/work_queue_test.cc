#include "work_queue.h"

#include <gtest/gtest.h>

namespace pomona::serving {
namespace {

TEST(WorkQueue, refuses_at_once_when_full_and_hands_out_queued_jobs_after_close) {
  WorkQueue queue(2);
  EXPECT_TRUE(queue.try_push(std::make_shared<Job>()));
  EXPECT_TRUE(queue.try_push(std::make_shared<Job>()));
  EXPECT_FALSE(queue.try_push(std::make_shared<Job>()));
  EXPECT_EQ(queue.depth(), 2u);
  queue.close();
  EXPECT_FALSE(queue.try_push(std::make_shared<Job>()));
  EXPECT_NE(queue.pop(), nullptr);
  EXPECT_NE(queue.pop(), nullptr);
  EXPECT_EQ(queue.pop(), nullptr);
}

}  // namespace
}  // namespace pomona::serving
