// Reads the bytes of listed inputs on a few threads of its own, in listing order, ahead of the
// workers that decode them: on S3 each GET costs tens of milliseconds of latency, which workers
// reading their own inputs would spend idle. Bounded by the bytes read and not yet taken; the
// number of reads in flight sizes itself (ReadConcurrency) between 1 and a cap.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "pomona/error.h"
#include "pomona/io.h"

namespace pomona {

// How many reads may be in flight, sized by what the reads meet, as TCP sizes its window: while
// the store has never throttled, one more each time a worker waits for bytes with every allowed
// read busy (latency, not the workers, is the limit: about doubling per round of reads); after a
// throttle, half as many, and then one more per `limit` such waits (about one per round). Always
// between 1 and cap. Not thread-safe: its owner locks.
class ReadConcurrency {
 public:
  ReadConcurrency(int initial, int cap)
      : cap_(std::max(1, cap)), limit_(std::clamp(initial, 1, cap_)) {}
  int limit() const { return limit_; }
  void worker_waited() {
    if (limit_ == cap_) return;
    if (!throttled_ || ++waits_ >= limit_) {
      ++limit_;
      waits_ = 0;
    }
  }
  void throttled() {
    limit_ = std::max(1, limit_ / 2);
    throttled_ = true;
    waits_ = 0;
  }

 private:
  const int cap_;
  int limit_;
  bool throttled_ = false;
  int waits_ = 0;
};

class ReadAhead {
 public:
  // How one input's bytes are fetched; tests substitute their own.
  using Reader = std::function<Result<std::vector<uint8_t>>(const ObjectInfo&)>;
  // A count that grows each time the store throttles or fails a request (which the reader then
  // retries); tests substitute their own.
  using ThrottleCount = std::function<int64_t()>;

  // Reads that start in flight: as many as a fixed read-ahead used to keep.
  static constexpr int kInitialReads = 8;

  // inputs must outlive this object. Starts `max_threads` threads that read inputs[0], [1], ...
  // with `read`, at most ReadConcurrency's limit at a time (starting at kInitialReads, capped by
  // max_threads), and stop claiming new ones while max_bytes_ahead bytes (listed sizes) are read
  // or being read but not taken (one input is always allowed, however large). A rise of
  // `throttles` seen when a read ends halves the limit, once per round of reads.
  ReadAhead(
      const std::vector<ObjectInfo>& inputs, int max_threads, int64_t max_bytes_ahead,
      Reader read = [](const ObjectInfo& input) { return read_bytes(input); },
      ThrottleCount throttles = s3_retry_count);
  // Cancels, then waits for the threads.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Blocks until inputs[index] is read and hands over its bytes or read error. Each index is
  // taken at most once; taking in about listing order keeps the window moving (any order is
  // safe while every claimed input is eventually taken).
  Result<std::vector<uint8_t>> take(int64_t index);
  // Stops the threads; take() of an input not yet read then returns an error at once. For a run
  // that stops early, whose workers will not take every input.
  void cancel();
  // The most reads allowed in flight now.
  int concurrency();

 private:
  void read_loop();

  const std::vector<ObjectInfo>& inputs_;
  const int64_t max_bytes_ahead_;
  const Reader read_;
  const ThrottleCount throttles_;
  std::mutex mutex_;
  std::condition_variable changed_;
  ReadConcurrency concurrency_;
  int64_t next_to_read_ = 0;
  int64_t bytes_ahead_ = 0;
  int in_flight_ = 0;
  int64_t throttles_seen_ = 0;
  // Which round of reads this is: a limit halved starts a new one, so that the reads already in
  // flight when the store throttled do not halve it again.
  int64_t round_ = 0;
  bool cancelled_ = false;
  std::map<int64_t, Result<std::vector<uint8_t>>> ready_;
  std::vector<std::jthread> threads_;
};

}  // namespace pomona
