#include "read_ahead.h"

#include <utility>

#include "pomona/condition_wait.h"

namespace pomona {

ReadAhead::ReadAhead(const std::vector<ObjectInfo>& inputs, int max_threads,
                     int64_t max_bytes_ahead, Reader read, ThrottleCount throttles)
    : inputs_(inputs),
      max_bytes_ahead_(max_bytes_ahead),
      read_(std::move(read)),
      throttles_(std::move(throttles)),
      concurrency_(kInitialReads, max_threads),
      throttles_seen_(throttles_()) {
  for (int t = 0; t < max_threads; ++t) threads_.emplace_back([this] { read_loop(); });
}

ReadAhead::~ReadAhead() {
  cancel();
  threads_.clear();
}

void ReadAhead::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

int ReadAhead::concurrency() {
  std::lock_guard lock(mutex_);
  return concurrency_.limit();
}

void ReadAhead::read_loop() {
  const int64_t total = static_cast<int64_t>(inputs_.size());
  while (true) {
    int64_t index, round;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return cancelled_ || next_to_read_ >= total ||
               (in_flight_ < concurrency_.limit() &&
                (bytes_ahead_ == 0 ||
                 bytes_ahead_ + inputs_[next_to_read_].size <= max_bytes_ahead_));
      });
      if (cancelled_ || next_to_read_ >= total) return;
      index = next_to_read_++;
      bytes_ahead_ += inputs_[index].size;
      ++in_flight_;
      round = round_;
    }
    Result<std::vector<uint8_t>> bytes = read_(inputs_[index]);
    const int64_t throttles = throttles_();
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (throttles > throttles_seen_) {
      throttles_seen_ = throttles;
      if (round == round_) {
        concurrency_.throttled();
        ++round_;
      }
    }
    ready_.emplace(index, std::move(bytes));
    changed_.notify_all();
  }
}

Result<std::vector<uint8_t>> ReadAhead::take(int64_t index) {
  std::unique_lock lock(mutex_);
  if (!ready_.contains(index) && in_flight_ >= concurrency_.limit()) {
    concurrency_.worker_waited();
    changed_.notify_all();
  }
  changed_.wait(lock, [&] { return cancelled_ || ready_.contains(index); });
  const auto ready = ready_.find(index);
  if (ready == ready_.end()) {
    return Result<std::vector<uint8_t>>::failure("not read: the run was stopped");
  }
  Result<std::vector<uint8_t>> bytes = std::move(ready->second);
  ready_.erase(ready);
  bytes_ahead_ -= inputs_[index].size;
  changed_.notify_all();
  return bytes;
}

}  // namespace pomona
