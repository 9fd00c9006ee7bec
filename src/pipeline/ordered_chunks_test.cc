#include "ordered_chunks.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace pomona {
namespace {

std::vector<FeatureRow> rows_named(const std::string& path) {
  FeatureRow row;
  row.path = path;
  return {row};
}

TEST(OrderedChunks, ChunksFinishedOutOfOrderComeOutInListingOrder) {
  OrderedChunks chunks(3, 3);
  chunks.put(2, rows_named("c"));
  chunks.put(0, rows_named("a"));
  chunks.put(1, rows_named("b"));
  EXPECT_EQ(chunks.take_next()->at(0).path, "a");
  EXPECT_EQ(chunks.take_next()->at(0).path, "b");
  EXPECT_EQ(chunks.take_next()->at(0).path, "c");
  EXPECT_FALSE(chunks.take_next().has_value());
}

TEST(OrderedChunks, WorkerWaitsWhileTooFarAheadOfTheWriter) {
  OrderedChunks chunks(3, 1);
  std::atomic<bool> second_started{false};
  std::thread worker([&] {
    ASSERT_TRUE(chunks.wait_for_room(1));
    second_started = true;
    chunks.put(1, rows_named("b"));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(second_started);  // chunk 1 is outside a window of 1 until chunk 0 is taken
  chunks.put(0, rows_named("a"));
  EXPECT_EQ(chunks.take_next()->at(0).path, "a");
  EXPECT_EQ(chunks.take_next()->at(0).path, "b");
  worker.join();
  EXPECT_TRUE(second_started);
}

TEST(OrderedChunks, WorkerFailureReachesTheWriterAndReleasesWaitingWorkers) {
  OrderedChunks chunks(4, 1);
  std::thread waiting([&] { EXPECT_FALSE(chunks.wait_for_room(3)); });
  chunks.fail(std::make_exception_ptr(std::runtime_error("network failed")));
  waiting.join();
  EXPECT_THROW(chunks.take_next(), std::runtime_error);
}

}  // namespace
}  // namespace pomona
