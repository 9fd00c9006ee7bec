#include "read_ahead.h"

#include <utility>

#include "condition_wait.h"

namespace pomona {

ReadAhead::ReadAhead(const std::vector<ObjectInfo>& inputs, int threads, int64_t max_bytes_ahead,
                     Reader read)
    : inputs_(inputs), max_bytes_ahead_(max_bytes_ahead), read_(std::move(read)) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this] { read_loop(); });
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

void ReadAhead::read_loop() {
  const int64_t total = static_cast<int64_t>(inputs_.size());
  while (true) {
    int64_t index;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return cancelled_ || next_to_read_ >= total || bytes_ahead_ == 0 ||
               bytes_ahead_ + inputs_[next_to_read_].size <= max_bytes_ahead_;
      });
      if (cancelled_ || next_to_read_ >= total) return;
      index = next_to_read_++;
      bytes_ahead_ += inputs_[index].size;
    }
    Result<std::vector<uint8_t>> bytes = read_(inputs_[index]);
    std::lock_guard lock(mutex_);
    ready_.emplace(index, std::move(bytes));
    changed_.notify_all();
  }
}

Result<std::vector<uint8_t>> ReadAhead::take(int64_t index) {
  std::unique_lock lock(mutex_);
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
