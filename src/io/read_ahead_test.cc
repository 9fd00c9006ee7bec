#include "read_ahead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using internal::ReadConcurrency;

std::vector<ObjectInfo> inputs_of_size(int count, int64_t size) {
  std::vector<ObjectInfo> inputs;
  for (int i = 0; i < count; ++i)
    inputs.push_back({.uri = "input-" + std::to_string(i), .size = size});
  return inputs;
}

// Bytes naming the input, so that a test sees which input's bytes it was handed.
std::vector<uint8_t> bytes_naming(const ObjectInfo& input) {
  return std::vector<uint8_t>(input.uri.begin(), input.uri.end());
}

std::string text_of(const Result<std::vector<uint8_t>>& bytes) {
  return std::string(bytes.value().begin(), bytes.value().end());
}

// A reader that counts the bytes it has started reading and the taker has not yet claimed, and
// remembers the most ever outstanding. The taker counts an input as claimed just before take(),
// before ReadAhead frees its room, so the count never exceeds what ReadAhead holds ahead.
class OutstandingBytes {
 public:
  ReadAhead::Reader reader() {
    return [this](const ObjectInfo& input) {
      std::lock_guard lock(mutex_);
      outstanding_ += input.size;
      ++started_;
      peak_ = std::max(peak_, outstanding_);
      changed_.notify_all();
      return Result<std::vector<uint8_t>>(bytes_naming(input));
    };
  }
  void about_to_take(const ObjectInfo& input) {
    std::lock_guard lock(mutex_);
    outstanding_ -= input.size;
  }
  void wait_for_started(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return started_ >= count; });
  }
  int started() {
    std::lock_guard lock(mutex_);
    return started_;
  }
  int64_t peak() {
    std::lock_guard lock(mutex_);
    return peak_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t outstanding_ = 0;
  int64_t peak_ = 0;
  int started_ = 0;
};

TEST(ReadAhead, HandsOverEachInputsBytesWhateverOrderTheThreadsReadThem) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(50, 10);
  ReadAhead read_ahead(inputs, 8, 1 << 20, [](const ObjectInfo& input) {
    return Result<std::vector<uint8_t>>(bytes_naming(input));
  });
  for (int i = 0; i < 50; ++i) {
    const Result<std::vector<uint8_t>> bytes = read_ahead.take(i);
    ASSERT_TRUE(bytes.ok()) << i;
    EXPECT_EQ(text_of(bytes), "input-" + std::to_string(i));
  }
}

TEST(ReadAhead, NeverHoldsMoreBytesAheadThanItsBound) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(40, 100);
  OutstandingBytes outstanding;
  ReadAhead read_ahead(inputs, 4, 350, outstanding.reader());
  // With nothing taken, 3 inputs fit in 350 bytes, a 4th would not.
  outstanding.wait_for_started(3);
  EXPECT_EQ(outstanding.started(), 3);
  for (int i = 0; i < 40; ++i) {
    outstanding.about_to_take(inputs[i]);
    ASSERT_TRUE(read_ahead.take(i).ok()) << i;
  }
  EXPECT_EQ(outstanding.started(), 40);
  EXPECT_LE(outstanding.peak(), 350);
  EXPECT_GE(outstanding.peak(), 300);
}

TEST(ReadAhead, ReadsAnInputLargerThanTheBoundOnItsOwn) {
  std::vector<ObjectInfo> inputs = inputs_of_size(3, 100);
  inputs[1].size = 1000;
  ReadAhead read_ahead(inputs, 2, 350, [](const ObjectInfo& input) {
    return Result<std::vector<uint8_t>>(bytes_naming(input));
  });
  // take(1) would wait forever if the input larger than the bound were never claimed.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(text_of(read_ahead.take(i)), inputs[i].uri);
}

TEST(ReadAhead, AFailedReadIsAnErrorOfThatInputOnly) {
  const testing::TempFolder folder;
  const std::vector<ObjectInfo> inputs = {
      {.uri = folder.write("a.jpg", "first"), .size = 5},
      {.uri = folder / "missing.jpg", .size = 7},
      {.uri = folder.write("c.jpg", "third"), .size = 5},
  };
  ReadAhead read_ahead(inputs, 2, 1 << 20);  // the real reader, read_bytes
  EXPECT_EQ(text_of(read_ahead.take(0)), "first");
  const Result<std::vector<uint8_t>> missing = read_ahead.take(1);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find(inputs[1].uri), std::string::npos) << missing.error();
  EXPECT_EQ(text_of(read_ahead.take(2)), "third");
}

TEST(ReadAhead, CancelReleasesATakerWaitingOnAReadInProgress) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(4, 10);
  std::promise<void> release_read;
  std::shared_future<void> read_released = release_read.get_future().share();
  std::promise<void> read_started;
  ReadAhead read_ahead(inputs, 1, 1 << 20, [&](const ObjectInfo& input) {
    if (input.uri == "input-1") {
      read_started.set_value();
      read_released.wait();  // a GET that hangs until the test lets it go
    }
    return Result<std::vector<uint8_t>>(bytes_naming(input));
  });
  ASSERT_TRUE(read_ahead.take(0).ok());
  std::string stopped_error;
  std::thread taker([&] {
    const Result<std::vector<uint8_t>> bytes = read_ahead.take(1);
    stopped_error = bytes.ok() ? "read" : bytes.error();
  });
  read_started.get_future().wait();
  read_ahead.cancel();
  taker.join();
  EXPECT_EQ(stopped_error, "not read: the run was stopped");
  EXPECT_EQ(read_ahead.take(3).ok(), false);  // never read: cancelled
  release_read.set_value();
}

TEST(ReadAhead, DestroyedWithInputsNotTakenReturnsWithoutReadingThemAll) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(1000, 100);
  OutstandingBytes outstanding;
  {
    ReadAhead read_ahead(inputs, 4, 500, outstanding.reader());
    for (int i = 0; i < 3; ++i) {
      outstanding.about_to_take(inputs[i]);
      ASSERT_TRUE(read_ahead.take(i).ok());
    }
    // The threads now wait for room that will never be made: the destructor must wake them.
    outstanding.wait_for_started(8);
  }
  EXPECT_EQ(outstanding.started(), 8);
}

TEST(ReadConcurrency, GrowsByOneAWaitUntilThrottledThenByOneARoundAndHalvesOnThrottles) {
  ReadConcurrency concurrency(8, 20);
  for (int i = 0; i < 4; ++i) concurrency.worker_waited();
  EXPECT_EQ(concurrency.limit(), 12);
  concurrency.throttled();
  EXPECT_EQ(concurrency.limit(), 6);
  for (int i = 0; i < 5; ++i) concurrency.worker_waited();
  EXPECT_EQ(concurrency.limit(), 6);  // after a throttle: one more per 6 waits
  concurrency.worker_waited();
  EXPECT_EQ(concurrency.limit(), 7);
  for (int i = 0; i < 10; ++i) concurrency.throttled();
  EXPECT_EQ(concurrency.limit(), 1);
  ReadConcurrency capped(8, 10);
  for (int i = 0; i < 100; ++i) capped.worker_waited();
  EXPECT_EQ(capped.limit(), 10);
  EXPECT_EQ(ReadConcurrency(8, 3).limit(), 3);
}

// A reader whose reads take `latency`, counting the most reads ever in flight at once; from
// input `throttled_from` on, each read counts as throttled by the store.
class SlowStore {
 public:
  SlowStore(std::chrono::milliseconds latency, int throttled_from)
      : latency_(latency), throttled_from_(throttled_from) {}
  ReadAhead::Reader reader() {
    return [this](const ObjectInfo& input) {
      const int now = ++in_flight_;
      for (int peak = peak_; now > peak && !peak_.compare_exchange_weak(peak, now);) {
      }
      std::this_thread::sleep_for(latency_);
      if (std::stoi(input.uri.substr(input.uri.find('-') + 1)) >= throttled_from_) ++throttles_;
      --in_flight_;
      return Result<std::vector<uint8_t>>(bytes_naming(input));
    };
  }
  ReadAhead::ThrottleCount throttles() {
    return [this] { return throttles_.load(); };
  }
  int peak() const { return peak_; }
  void reset_peak() { peak_ = 0; }

 private:
  const std::chrono::milliseconds latency_;
  const int throttled_from_;
  std::atomic<int> in_flight_ = 0, peak_ = 0;
  std::atomic<int64_t> throttles_ = 0;
};

TEST(ReadAhead, KeepsMoreReadsInFlightWhileWorkersWaitOnSlowReads) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(300, 10);
  SlowStore store(std::chrono::milliseconds(5), /*throttled_from=*/300);
  ReadAhead read_ahead(inputs, 32, 1 << 20, store.reader(), store.throttles());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(read_ahead.take(i).ok()) << i;
  EXPECT_GE(read_ahead.concurrency(), 2 * ReadAhead::kInitialReads);
  EXPECT_GT(store.peak(), ReadAhead::kInitialReads);
}

TEST(ReadAhead, ThrottlingLowersTheReadsInFlight) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(400, 10);
  // Reads of 10 ms, not 2: growth needs the taker to find every allowed read busy, which a loaded
  // machine (threads scheduled late, reads already done) made it miss with 2 ms reads.
  SlowStore store(std::chrono::milliseconds(10), /*throttled_from=*/100);
  ReadAhead read_ahead(inputs, 32, 1 << 20, store.reader(), store.throttles());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(read_ahead.take(i).ok()) << i;
  EXPECT_GT(store.peak(), ReadAhead::kInitialReads);  // grown before the throttling
  store.reset_peak();
  for (int i = 300; i < 400; ++i) ASSERT_TRUE(read_ahead.take(i).ok()) << i;
  EXPECT_LE(read_ahead.concurrency(), 4);
  EXPECT_LE(store.peak(), 4);
}

TEST(ReadAhead, NeverHasMoreReadsInFlightThanItsThreads) {
  const std::vector<ObjectInfo> inputs = inputs_of_size(100, 10);
  SlowStore store(std::chrono::milliseconds(2), /*throttled_from=*/100);
  ReadAhead read_ahead(inputs, 3, 1 << 20, store.reader(), store.throttles());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(read_ahead.take(i).ok()) << i;
  EXPECT_EQ(read_ahead.concurrency(), 3);
  EXPECT_LE(store.peak(), 3);
}

}  // namespace
}  // namespace pomona
