// A bounded reorder buffer between the workers, which finish chunks of rows in any order, and the
// writer, which must append them in listing order. Bounded: a worker may run at most `window`
// chunks ahead of the writer, so memory does not grow with the number of images.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "pomona/table.h"

namespace pomona {

class OrderedChunks {
 public:
  OrderedChunks(int64_t chunk_count, int64_t window) : chunk_count_(chunk_count), window_(window) {}

  // Blocks until chunk `index` is within the window. Returns false when the job has failed.
  bool wait_for_room(int64_t index);
  void put(int64_t index, std::vector<FeatureRow> rows);
  // Records the first failure of a worker; take_next() rethrows it.
  void fail(std::exception_ptr error);
  // The next chunk in order, or nullopt when all chunks were taken. Rethrows a worker's failure.
  std::optional<std::vector<FeatureRow>> take_next();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int64_t, std::vector<FeatureRow>> ready_;
  const int64_t chunk_count_;
  const int64_t window_;
  int64_t next_ = 0;
  std::exception_ptr error_;
};

}  // namespace pomona
