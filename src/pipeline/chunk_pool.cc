#include "chunk_pool.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "ordered_chunks.h"

namespace pomona {
namespace {

// On the way out of run_chunks, before the workers are joined: releases those waiting for room
// (OrderedChunks) or for bytes (the source).
class ReleaseWorkers {
 public:
  ReleaseWorkers(OrderedChunks& chunks, InputSource& source) : chunks_(chunks), source_(source) {}
  ~ReleaseWorkers() {
    chunks_.fail(std::make_exception_ptr(std::runtime_error("the run ended")));
    source_.cancel();
  }

 private:
  OrderedChunks& chunks_;
  InputSource& source_;
};

}  // namespace

bool run_chunks(const FeatureExtractor& extractor, InputSource& source,
                const ChunkPoolOptions& options,
                const std::function<void(std::vector<FeatureRow>& rows)>& take) {
  const int64_t total = source.size();
  const int64_t batch = extractor.max_batch();
  const int64_t chunk_count = (total + batch - 1) / batch;
  const int workers = static_cast<int>(
      std::min<int64_t>(std::max(1, options.threads), std::max<int64_t>(1, chunk_count)));
  OrderedChunks chunks(chunk_count, 4 * workers);
  std::atomic<int64_t> next_chunk{0};
  const auto stop_requested = [&] {
    return options.stop != nullptr && options.stop->load(std::memory_order_relaxed);
  };
  std::vector<std::jthread> threads;
  const ReleaseWorkers release(chunks, source);  // after the threads: runs before they are joined
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      try {
        ChunkFeaturizer featurizer(extractor, options.jpeg_draft, options.exif_transpose);
        for (int64_t c; (c = next_chunk.fetch_add(1)) < chunk_count;) {
          if (!chunks.wait_for_room(c)) return;
          // An empty chunk tells the taker that the run stops here.
          if (stop_requested()) {
            chunks.put(c, {});
            return;
          }
          chunks.put(c, featurizer.run(source, c * batch, std::min(total, (c + 1) * batch)));
        }
      } catch (...) {
        chunks.fail(std::current_exception());
      }
    });
  }
  while (auto rows = chunks.take_next()) {
    if (rows->empty()) return false;
    take(*rows);
  }
  return true;
}

}  // namespace pomona
