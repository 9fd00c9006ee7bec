#include "ordered_chunks.h"

#include "pomona/condition_wait.h"

namespace pomona {

bool OrderedChunks::wait_for_room(int64_t index) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return error_ || index < next_ + window_; });
  return !error_;
}

void OrderedChunks::put(int64_t index, std::vector<FeatureRow> rows) {
  {
    std::lock_guard lock(mutex_);
    ready_.emplace(index, std::move(rows));
  }
  changed_.notify_all();
}

void OrderedChunks::fail(std::exception_ptr error) {
  {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = error;
  }
  changed_.notify_all();
}

std::optional<std::vector<FeatureRow>> OrderedChunks::take_next() {
  std::unique_lock lock(mutex_);
  if (next_ == chunk_count_) return std::nullopt;
  changed_.wait(lock, [&] { return error_ || ready_.count(next_) != 0; });
  if (error_) std::rethrow_exception(error_);
  auto node = ready_.extract(next_);
  ++next_;
  lock.unlock();
  changed_.notify_all();
  return std::move(node.mapped());
}

}  // namespace pomona
