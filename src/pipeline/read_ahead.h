// Reads the bytes of listed inputs on a few threads of its own, in listing order, ahead of the
// workers that decode them: on S3 each GET costs tens of milliseconds of latency, which workers
// reading their own inputs would spend idle. Bounded by the bytes read and not yet taken.
#pragma once

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

class ReadAhead {
 public:
  // How one input's bytes are fetched; tests substitute their own.
  using Reader = std::function<Result<std::vector<uint8_t>>(const ObjectInfo&)>;

  // inputs must outlive this object. Starts `threads` threads that read inputs[0], [1], ... with
  // `read` and stop claiming new ones while max_bytes_ahead bytes (listed sizes) are read or being
  // read but not taken (one input is always allowed, however large).
  ReadAhead(
      const std::vector<ObjectInfo>& inputs, int threads, int64_t max_bytes_ahead,
      Reader read = [](const ObjectInfo& input) { return read_bytes(input); });
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

 private:
  void read_loop();

  const std::vector<ObjectInfo>& inputs_;
  const int64_t max_bytes_ahead_;
  const Reader read_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t next_to_read_ = 0;
  int64_t bytes_ahead_ = 0;
  bool cancelled_ = false;
  std::map<int64_t, Result<std::vector<uint8_t>>> ready_;
  std::vector<std::jthread> threads_;
};

}  // namespace pomona
