#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "ordered_chunks.h"
#include "pomona/batch.h"
#include "pomona/error.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"
#include "reduce.h"

namespace pomona {
namespace {

// Turns chunks of consecutive listed inputs into rows with its own ChunkFeaturizer (batch.h): one
// single-threaded network per worker, so decoding interleaves with inference on the same core and
// no core waits for the other stage.
class Worker {
 public:
  Worker(const FeatureExtractor& extractor, const std::vector<ObjectInfo>& inputs,
         LabelFrom label_from, bool jpeg_draft)
      : featurizer_(extractor, jpeg_draft), inputs_(inputs), label_from_(label_from) {}

  std::vector<FeatureRow> run_chunk(int64_t begin, int64_t end) {
    chunk_.clear();
    for (int64_t i = begin; i < end; ++i) {
      chunk_.push_back({.path = inputs_[i].uri, .label = label_of(inputs_[i].uri, label_from_)});
    }
    return featurizer_.run(chunk_);
  }

 private:
  ChunkFeaturizer featurizer_;
  const std::vector<ObjectInfo>& inputs_;
  const LabelFrom label_from_;
  std::vector<BatchInput> chunk_;
};

constexpr int64_t kErrorsInSummary = 10;

int thread_budget(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::string resolve_weights(const FeaturizeOptions& options) {
  if (!options.weights.empty()) return options.weights;
  std::string cached = find_cached_weights(options.spec);
  if (!cached.empty()) return cached;
  throw JobError(ExitCode::kConfiguration,
                 "no weights file " + keras_weights_file_name(options.spec, true) + " in " +
                     keras_cache_dir() + ": run `pomona weights fetch` or pass --weights FILE");
}

Summary featurize(const FeaturizeOptions& options, ProgressListener* listener) {
  const auto start = std::chrono::steady_clock::now();
  Summary summary;
  const std::vector<ObjectInfo> inputs = list_inputs(options.input, options.list);
  summary.weights = resolve_weights(options);
  const int batch = std::max(1, options.batch);
  auto extractor =
      FeatureExtractor::create(KerasWeights::load(summary.weights), options.spec, batch);

  WriterOptions writer_options;
  writer_options.rows_per_file = options.rows_per_file;
  writer_options.feature_dim = extractor->feature_dim();
  std::optional<PcaReducer> reducer;
  if (options.pca) reducer.emplace(options.output, writer_options.feature_dim);
  auto writer =
      RowWriter::open(reducer ? reducer->staging_output() : options.output, writer_options);

  const int64_t total = static_cast<int64_t>(inputs.size());
  const int64_t chunk_count = (total + batch - 1) / batch;
  const int workers = static_cast<int>(
      std::min<int64_t>(thread_budget(options.threads), std::max<int64_t>(1, chunk_count)));
  OrderedChunks chunks(chunk_count, 4 * workers);
  std::atomic<int64_t> next_chunk{0};

  std::vector<std::jthread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      Worker worker(*extractor, inputs, options.label_from, options.jpeg_draft);
      try {
        for (int64_t c; (c = next_chunk.fetch_add(1)) < chunk_count;) {
          if (!chunks.wait_for_room(c)) return;
          chunks.put(c, worker.run_chunk(c * batch, std::min(total, (c + 1) * batch)));
        }
      } catch (...) {
        chunks.fail(std::current_exception());
      }
    });
  }

  if (listener) listener->on_start(total);
  try {
    while (auto rows = chunks.take_next()) {
      for (FeatureRow& row : *rows) {
        if (row.error) {
          if (++summary.errors <= kErrorsInSummary)
            summary.first_errors.push_back(row.path + ": " + *row.error);
        }
        ++summary.images;
        if (reducer) reducer->observe(row);
        writer->append(std::move(row));
      }
      if (listener) listener->on_progress(summary.images, summary.errors);
    }
  } catch (...) {
    chunks.fail(std::current_exception());  // releases workers waiting for room
    throw;
  }
  threads.clear();
  summary.files = writer->commit();
  if (reducer) reducer->finish(options, summary);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace pomona
