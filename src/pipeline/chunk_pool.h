// The one pool of featurize (pipeline.h) and featurize_inputs (batch.h): the inputs of a source,
// cut into chunks of extractor.max_batch(), are turned into rows on worker threads, each with its
// own ChunkFeaturizer claiming the next chunk, and handed over in input order.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "pomona/batch.h"

namespace pomona {

struct ChunkPoolOptions {
  int threads = 1;  // workers at most (never more than there are chunks)
  bool jpeg_draft = false;
  bool exif_transpose = false;
  // Once set, no chunk is started; the chunks before the first one not started are still taken.
  const std::atomic<bool>* stop = nullptr;
};

// Hands each chunk's rows to `take`, on the calling thread, chunk by chunk in input order.
// Workers run at most 4 x workers chunks ahead of take, so memory does not grow with the number
// of inputs. Returns false when options.stop cut the run short. Whatever a worker or take throws
// is rethrown once every worker has stopped (source.cancel() releases those waiting for bytes).
bool run_chunks(const FeatureExtractor& extractor, InputSource& source,
                const ChunkPoolOptions& options,
                const std::function<void(std::vector<FeatureRow>& rows)>& take);

}  // namespace pomona
