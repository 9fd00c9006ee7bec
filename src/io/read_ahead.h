// Internals of ReadAhead (include/pomona/io.h): how many reads it keeps in flight.
#pragma once

#include <algorithm>

#include "pomona/io.h"

namespace pomona::internal {

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

}  // namespace pomona::internal
