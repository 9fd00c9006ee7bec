// featurize, feature_settings and resolve_weights (include/pomona/pipeline.h): the job as named
// steps over the one chunk pool (chunk_pool.h) and the one choice of output (feature_output.h).
#include <algorithm>
#include <chrono>
#include <thread>

#include "chunk_pool.h"
#include "feature_output.h"
#include "pomona/batch.h"
#include "pomona/error.h"
#include "pomona/image.h"
#include "pomona/io.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"

namespace pomona {
namespace {

// read_bytes, with the image header of a large file looked at first: a JPEG or PNG the decoder
// refuses from its header (a decompression bomb) gets the decoder's error, the rest unread.
Result<std::vector<uint8_t>> read_input(const ObjectInfo& input, int64_t max_bytes) {
  return read_bytes(input, max_bytes,
                    [](std::span<const uint8_t> prefix) { return header_refusal(prefix); });
}

// Read-ahead is for stores where a read waits on the network; a local read costs less than the
// hand-over between threads. The threads are a cap: ReadAhead keeps as many reads in flight as
// the latency needs, within its byte bound.
int io_thread_count(const FeaturizeOptions& options) {
  if (options.io_threads >= 0) return options.io_threads;
  return is_s3_uri(options.input) ? ReadAhead::kDefaultMaxThreads : 0;
}

constexpr int64_t kMaxBytesReadAhead = 256 << 20;

constexpr int64_t kErrorsInSummary = 10;

// The listed inputs left to do: each row carries its input's size and mtime (what a resumed run
// compares), and its bytes come from a ReadAhead when there is one, else from the worker's own
// read. The listed size is checked against max_file_bytes before a byte is read.
class ListedInputs final : public InputSource {
 public:
  ListedInputs(const std::vector<ObjectInfo>& inputs, const FeaturizeOptions& options)
      : inputs_(inputs), label_from_(options.label_from), max_file_bytes_(options.max_file_bytes) {
    if (const int io_threads = io_thread_count(options); io_threads > 0) {
      read_ahead_ = std::make_unique<ReadAhead>(
          inputs, io_threads, kMaxBytesReadAhead,
          [max = max_file_bytes_](const ObjectInfo& input) { return read_input(input, max); });
    }
  }
  int64_t size() const override { return static_cast<int64_t>(inputs_.size()); }
  FeatureRow row(int64_t i) const override {
    FeatureRow row;
    row.path = inputs_[i].uri;
    row.label = label_of(inputs_[i].uri, label_from_);
    row.size = inputs_[i].size;
    row.mtime_ns = inputs_[i].mtime_ns;
    return row;
  }
  Result<std::span<const uint8_t>> bytes(int64_t i, std::vector<uint8_t>& buffer) override {
    auto read = read_ahead_ ? read_ahead_->take(i) : read_input(inputs_[i], max_file_bytes_);
    if (!read.ok()) return Result<std::span<const uint8_t>>::failure(read.error());
    buffer = std::move(read.value());
    return std::span<const uint8_t>(buffer);
  }
  void cancel() override {
    if (read_ahead_) read_ahead_->cancel();
  }

 private:
  const std::vector<ObjectInfo>& inputs_;
  const LabelFrom label_from_;
  const int64_t max_file_bytes_;
  std::unique_ptr<ReadAhead> read_ahead_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The network and how it writes its rows. The weights are read once: their hash is of the bytes
// loaded, and their arrays are freed once the network holds its own.
struct Network {
  std::unique_ptr<FeatureExtractor> extractor;
  WriterOptions writer_options;
};

Network load_network(const FeaturizeOptions& options, const std::string& weights_path) {
  // The workers' networks are single-threaded; building the network on one thread too keeps
  // OpenMP from starting a team whose threads spin between the weight reorders.
  set_compute_threads(1);
  const KerasWeights weights = KerasWeights::load(weights_path);
  Network network;
  network.extractor = FeatureExtractor::create(weights, options.spec, std::max(1, options.batch),
                                               options.precision);
  network.writer_options.rows_per_file = options.rows_per_file;
  network.writer_options.feature_dim = network.extractor->feature_dim();
  network.writer_options.settings = feature_settings(options, weights.sha256());
  return network;
}

// Featurizes output.todo() into output, in listing order, counting rows and errors in summary.
// Returns false when options.stop cut the run short.
bool featurize_rows(const FeatureExtractor& extractor, const FeaturizeOptions& options,
                    FeatureOutput& output, ProgressListener* listener, Summary& summary) {
  ListedInputs inputs(output.todo(), options);
  if (listener) listener->on_start(inputs.size());
  const ChunkPoolOptions pool = {.threads = thread_budget(options.threads),
                                 .jpeg_draft = options.jpeg_draft,
                                 .exif_transpose = options.exif_transpose,
                                 .stop = options.stop};
  return run_chunks(extractor, inputs, pool, [&](std::vector<FeatureRow>& rows) {
    for (FeatureRow& row : rows) {
      if (row.error && ++summary.errors <= kErrorsInSummary)
        summary.first_errors.push_back(row.path + ": " + *row.error);
      ++summary.images;
      output.append(std::move(row));
    }
    if (listener) listener->on_progress(summary.images, summary.errors);
  });
}

}  // namespace

std::map<std::string, std::string> feature_settings(const FeaturizeOptions& options,
                                                    const std::string& weights_sha256) {
  return identity_settings(
      {.alpha = options.spec.alpha,
       .size = options.spec.size,
       .weights_sha256 = weights_sha256,
       .jpeg_draft = options.jpeg_draft,
       .exif_transpose = options.exif_transpose,
       .precision = precision_name(options.precision),
       .bf16_layout = options.precision == Precision::kBf16 ? bf16_layout() : ""});
}

std::string resolve_weights(const FeaturizeOptions& options) {
  if (!options.weights.empty()) return options.weights;
  std::string cached = find_cached_weights(options.spec);
  if (!cached.empty()) return cached;
  throw JobError(ExitCode::kConfiguration,
                 "no weights file " + keras_weights_file_name(options.spec, true) + " in " +
                     keras_cache_dir() + ": run `pomona weights fetch` or give a weights file",
                 Setting::kWeights);
}

Summary featurize(const FeaturizeOptions& options, ProgressListener* listener) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t retries_before = s3_retry_count();
  Summary summary;
  std::vector<ObjectInfo> inputs = list_inputs(options.input, options.list, &summary.listing);
  summary.weights = resolve_weights(options);
  const Network network = load_network(options, summary.weights);
  // Before anything in the output changes; held until the output is published.
  const std::unique_ptr<OutputLock> lock = OutputLock::acquire(options.output);
  FeatureOutput output(options, network.writer_options, std::move(inputs), summary);
  summary.stopped = !featurize_rows(*network.extractor, options, output, listener, summary);
  if (summary.stopped) {
    output.publish_partial(summary);
  } else {
    output.publish(summary);
  }
  summary.s3_retries = s3_retry_count() - retries_before;
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace pomona
