#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "ordered_chunks.h"
#include "pomona/error.h"
#include "pomona/image.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"

namespace pomona {
namespace {

// read -> decode -> resize -> preprocess one input into `out` (size x size x 3 floats).
// Returns the row's error message, or nullopt when the input is ready for the network.
std::optional<std::string> prepare_input(const std::string& uri, int size, float* out) {
  auto bytes = read_bytes(uri);
  if (!bytes.ok()) return bytes.error();
  auto image = decode_image(bytes.value());
  if (!image.ok()) return image.error();
  preprocess_keras(resize_like_pillow(image.value(), size, size), out);
  return std::nullopt;
}

// Turns chunks of consecutive inputs into rows. Each worker owns a single-threaded network
// context: one network per core at small batches beats one multi-threaded network (cache), and
// decoding interleaves with inference on the same core, so no core waits for the other stage.
class Worker {
 public:
  Worker(const FeatureExtractor& extractor, const std::vector<ObjectInfo>& inputs,
         LabelFrom label_from)
      : extractor_(extractor),
        inputs_(inputs),
        label_from_(label_from),
        pixels_per_image_(extractor.spec().size * extractor.spec().size * 3),
        input_(static_cast<size_t>(extractor.max_batch()) * pixels_per_image_),
        features_(static_cast<size_t>(extractor.max_batch()) * extractor.feature_dim()) {}

  std::vector<FeatureRow> run_chunk(int64_t begin, int64_t end) {
    if (!context_) {
      set_compute_threads(1);
      context_ = extractor_.new_context();
    }
    std::vector<FeatureRow> rows(end - begin);
    std::vector<FeatureRow*> ready;  // rows whose image is in input_, in slot order
    for (int64_t i = begin; i < end; ++i) {
      FeatureRow& row = rows[i - begin];
      row.path = inputs_[i].uri;
      row.label = label_of(row.path, label_from_);
      float* slot = input_.data() + ready.size() * pixels_per_image_;
      row.error = prepare_input(row.path, extractor_.spec().size, slot);
      if (!row.error) ready.push_back(&row);
    }
    if (!ready.empty()) {
      extractor_.extract(*context_, input_.data(), static_cast<int>(ready.size()),
                         features_.data());
      const int dim = extractor_.feature_dim();
      for (size_t k = 0; k < ready.size(); ++k) {
        const float* f = features_.data() + k * dim;
        ready[k]->features.assign(f, f + dim);
      }
    }
    return rows;
  }

 private:
  const FeatureExtractor& extractor_;
  const std::vector<ObjectInfo>& inputs_;
  const LabelFrom label_from_;
  const size_t pixels_per_image_;
  std::unique_ptr<FeatureExtractor::Context> context_;
  std::vector<float> input_;
  std::vector<float> features_;
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
  auto extractor = FeatureExtractor::create(KerasWeights::load(summary.weights), options.spec, batch);

  WriterOptions writer_options;
  writer_options.rows_per_file = options.rows_per_file;
  writer_options.feature_dim = extractor->feature_dim();
  auto writer = RowWriter::open(options.output, writer_options);

  const int64_t total = static_cast<int64_t>(inputs.size());
  const int64_t chunk_count = (total + batch - 1) / batch;
  const int workers =
      static_cast<int>(std::min<int64_t>(thread_budget(options.threads), std::max<int64_t>(1, chunk_count)));
  OrderedChunks chunks(chunk_count, 4 * workers);
  std::atomic<int64_t> next_chunk{0};

  std::vector<std::jthread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      Worker worker(*extractor, inputs, options.label_from);
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
          if (++summary.errors <= kErrorsInSummary) summary.first_errors.push_back(row.path + ": " + *row.error);
        }
        ++summary.images;
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
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace pomona
