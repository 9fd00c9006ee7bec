// check_threads, check_batch and thread_budget (pomona/pipeline.h).
#include <algorithm>
#include <string>
#include <thread>

#include "pomona/pipeline.h"

namespace pomona {

Result<int> check_threads(int64_t threads) {
  if (threads >= 0 && threads <= kMaxThreads) return static_cast<int>(threads);
  return Result<int>::failure("must be 0 (all cores) to " + std::to_string(kMaxThreads) + ", not " +
                              std::to_string(threads));
}

Result<int> check_batch(int64_t batch) {
  if (batch >= 1 && batch <= kMaxBatch) return static_cast<int>(batch);
  return Result<int>::failure("must be 1 to " + std::to_string(kMaxBatch) + ", not " +
                              std::to_string(batch));
}

int thread_budget(int threads) {
  if (threads > 0) return threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace pomona
