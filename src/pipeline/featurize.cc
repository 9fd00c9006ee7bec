#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "ordered_chunks.h"
#include "pomona/batch.h"
#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/image.h"
#include "pomona/io.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"
#include "read_ahead.h"
#include "reduce.h"

namespace pomona {
namespace {

// read_bytes, with the image header of a large file looked at first: a JPEG or PNG the decoder
// refuses from its header (a decompression bomb) gets the decoder's error, the rest unread.
Result<std::vector<uint8_t>> read_input(const ObjectInfo& input, int64_t max_bytes) {
  return read_bytes(input, max_bytes,
                    [](std::span<const uint8_t> prefix) { return header_refusal(prefix); });
}

// Turns chunks of consecutive listed inputs into rows with its own ChunkFeaturizer (batch.h): one
// single-threaded network per worker, so decoding interleaves with inference on the same core and
// no core waits for the other stage. With a ReadAhead the bytes come from it, already fetched.
class Worker {
 public:
  Worker(const FeatureExtractor& extractor, const std::vector<ObjectInfo>& inputs,
         const FeaturizeOptions& options, ReadAhead* read_ahead)
      : featurizer_(extractor, options.jpeg_draft, options.exif_transpose),
        inputs_(inputs),
        label_from_(options.label_from),
        max_file_bytes_(options.max_file_bytes),
        read_ahead_(read_ahead) {}

  std::vector<FeatureRow> run_chunk(int64_t begin, int64_t end) {
    std::vector<FeatureRow> rows(end - begin);
    chunk_.clear();
    fetched_.clear();
    slots_.clear();
    for (int64_t i = begin; i < end; ++i) {
      FeatureRow& row = rows[i - begin];
      row.path = inputs_[i].uri;
      row.label = label_of(inputs_[i].uri, label_from_);
      row.size = inputs_[i].size;
      row.mtime_ns = inputs_[i].mtime_ns;
      // Read here rather than by the featurizer: the listed size is checked against the budget
      // before a byte is read.
      Result<std::vector<uint8_t>> bytes =
          read_ahead_ ? read_ahead_->take(i) : read_input(inputs_[i], max_file_bytes_);
      if (!bytes.ok()) {
        row.error = bytes.error();
        continue;
      }
      fetched_.push_back(std::move(bytes.value()));
      chunk_.push_back({.path = row.path, .label = row.label, .bytes = std::nullopt});
      slots_.push_back(i - begin);
    }
    // After every push_back: the spans point into fetched_'s final buffers.
    for (size_t k = 0; k < chunk_.size(); ++k) chunk_[k].bytes = fetched_[k];
    std::vector<FeatureRow> featurized = featurizer_.run(chunk_);
    for (size_t k = 0; k < featurized.size(); ++k) {
      FeatureRow& row = rows[slots_[k]];
      row.features = std::move(featurized[k].features);
      row.error = std::move(featurized[k].error);
    }
    return rows;
  }

 private:
  ChunkFeaturizer featurizer_;
  const std::vector<ObjectInfo>& inputs_;
  const LabelFrom label_from_;
  const int64_t max_file_bytes_;
  ReadAhead* const read_ahead_;
  std::vector<BatchInput> chunk_;
  std::vector<std::vector<uint8_t>> fetched_;
  std::vector<int64_t> slots_;  // the row of each chunk_ entry
};

// Read-ahead is for stores where a read waits on the network; a local read costs less than the
// hand-over between threads. The threads are a cap: ReadAhead keeps as many reads in flight as
// the latency needs (64 cover ~2,500 GETs/s at S3's 25 ms), within its byte bound.
int io_thread_count(const FeaturizeOptions& options) {
  if (options.io_threads >= 0) return options.io_threads;
  return is_s3_uri(options.input) ? 64 : 0;
}

constexpr int64_t kMaxBytesReadAhead = 256 << 20;

constexpr int64_t kErrorsInSummary = 10;

// Where the rows go: a fresh writer, or a resumed folder that says which inputs are left to do.
struct RowSink {
  std::unique_ptr<ResumableOutput> resumable;  // null for a single-file output
  std::unique_ptr<RowWriter> writer;
  std::vector<ObjectInfo> todo;
  int64_t skipped = 0;
};

// Inputs not done in the folder: new, changed (size or mtime differ) or, with retry_errors,
// failed before. The committed rows of changed and retried inputs are dropped first, so that each
// input keeps one row; so are those of inputs no longer listed, with prune_deleted.
RowSink resume_folder(const std::string& folder, const WriterOptions& writer_options,
                      const FeaturizeOptions& options, std::vector<ObjectInfo> inputs,
                      Summary& summary) {
  RowSink sink;
  sink.resumable = ResumableOutput::open(folder, writer_options, options.overwrite);
  std::unordered_map<std::string_view, const CommittedInput*> committed;
  for (const CommittedInput& input : sink.resumable->committed()) committed[input.path] = &input;
  std::vector<std::string> redone;
  std::unordered_set<std::string_view> listed;  // views into inputs, used before they move
  for (const ObjectInfo& input : inputs) listed.insert(input.uri);
  for (const CommittedInput& input : sink.resumable->committed()) {
    if (listed.contains(input.path)) continue;
    ++summary.vanished;
    if (options.prune_deleted) redone.push_back(input.path);
  }
  for (ObjectInfo& input : inputs) {
    const auto done = committed.find(input.uri);
    if (done == committed.end()) {
      sink.todo.push_back(std::move(input));
    } else if (done->second->size == input.size && done->second->mtime_ns == input.mtime_ns &&
               !(options.retry_errors && done->second->failed)) {
      ++sink.skipped;
    } else {
      redone.push_back(input.uri);
      sink.todo.push_back(std::move(input));
    }
  }
  sink.resumable->drop_rows_of(redone);
  sink.writer = sink.resumable->writer();
  return sink;
}

bool stop_requested(const FeaturizeOptions& options) {
  return options.stop != nullptr && options.stop->load(std::memory_order_relaxed);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int thread_budget(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::map<std::string, std::string> feature_settings(const FeaturizeOptions& options,
                                                    const std::string& weights) {
  char alpha[16];
  std::snprintf(alpha, sizeof(alpha), "%g", options.spec.alpha);
  const auto flag = [](bool on) { return std::string(on ? "true" : "false"); };
  return {{"pomona.alpha", alpha},
          {"pomona.size", std::to_string(options.spec.size)},
          {"pomona.weights_sha256", weights_sha256(weights)},
          {"pomona.jpeg_draft", flag(options.jpeg_draft)},
          {"pomona.exif_transpose", flag(options.exif_transpose)},
          {"pomona.precision", precision_name(options.precision)}};
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
  const std::vector<ObjectInfo> inputs = list_inputs(options.input, options.list, &summary.listing);
  summary.weights = resolve_weights(options);
  const int batch = std::max(1, options.batch);
  // The workers' networks are single-threaded; building the network on one thread too keeps
  // OpenMP from starting a team whose threads spin between the weight reorders.
  set_compute_threads(1);
  auto extractor = FeatureExtractor::create(KerasWeights::load(summary.weights), options.spec,
                                            batch, options.precision);

  WriterOptions writer_options;
  writer_options.rows_per_file = options.rows_per_file;
  writer_options.feature_dim = extractor->feature_dim();
  writer_options.settings = feature_settings(options, summary.weights);
  // Before anything in the output changes; held until the output is published.
  const std::unique_ptr<OutputLock> lock = OutputLock::acquire(options.output);
  std::optional<PcaReducer> reducer;
  RowSink sink;
  std::string unreduced;  // folder output with PCA: the resumable rows before their pca column
  if (!is_single_file_output(options.output)) {
    unreduced = options.pca ? files::join_uri(options.output, "_unreduced") : options.output;
    if (!options.overwrite) refuse_foreign_files(options.output, unreduced);
    // Temp files of runs that died (this run holds the lock: no live run writes here).
    if (options.pca) files::remove_temp_files(options.output);
    sink = resume_folder(unreduced, writer_options, options, inputs, summary);
  } else {
    files::remove_temp_files_of(options.output);
    if (options.pca) reducer.emplace(options.output, writer_options.feature_dim);
    sink.writer =
        RowWriter::open(reducer ? reducer->staging_output() : options.output, writer_options);
    sink.todo = inputs;
  }
  summary.skipped = sink.skipped;
  const std::vector<ObjectInfo>& todo = sink.todo;
  RowWriter& writer = *sink.writer;

  const int64_t total = static_cast<int64_t>(todo.size());
  const int64_t chunk_count = (total + batch - 1) / batch;
  const int workers = static_cast<int>(
      std::min<int64_t>(thread_budget(options.threads), std::max<int64_t>(1, chunk_count)));
  OrderedChunks chunks(chunk_count, 4 * workers);
  std::atomic<int64_t> next_chunk{0};

  const int io_threads = io_thread_count(options);
  std::unique_ptr<ReadAhead> read_ahead;
  if (io_threads > 0) {
    read_ahead = std::make_unique<ReadAhead>(
        todo, io_threads, kMaxBytesReadAhead,
        [max = options.max_file_bytes](const ObjectInfo& input) { return read_input(input, max); });
  }
  std::vector<std::jthread> threads;
  // Declared after the threads, so it runs first when they are joined by an exception: workers
  // waiting on reads that will not come are released.
  const auto cancel_reads = [&] {
    if (read_ahead) read_ahead->cancel();
  };
  std::unique_ptr<void, std::function<void(void*)>> cancel_on_exit(&threads,
                                                                   [&](void*) { cancel_reads(); });
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      Worker worker(*extractor, todo, options, read_ahead.get());
      try {
        for (int64_t c; (c = next_chunk.fetch_add(1)) < chunk_count;) {
          if (!chunks.wait_for_room(c)) return;
          // An empty chunk tells the writer that the run stops here.
          if (stop_requested(options)) {
            chunks.put(c, {});
            return;
          }
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
      if (rows->empty()) {
        summary.stopped = true;
        // Releases the workers waiting for room; take_next() is not called again.
        chunks.fail(std::make_exception_ptr(std::runtime_error("stopped")));
        break;
      }
      for (FeatureRow& row : *rows) {
        if (row.error) {
          if (++summary.errors <= kErrorsInSummary)
            summary.first_errors.push_back(row.path + ": " + *row.error);
        }
        ++summary.images;
        if (reducer) reducer->observe(row);
        writer.append(std::move(row));
      }
      if (listener) listener->on_progress(summary.images, summary.errors);
    }
  } catch (...) {
    chunks.fail(std::current_exception());  // releases workers waiting for room
    throw;
  }
  cancel_reads();
  threads.clear();
  summary.s3_retries = s3_retry_count() - retries_before;
  if (summary.stopped) {
    summary.files = writer.commit_partial();
    summary.seconds = seconds_since(start);
    return summary;
  }
  summary.files = writer.commit();
  if (reducer) reducer->finish(options, summary);
  if (options.pca && !reducer) {
    publish_with_pca(statistics_of(unreduced, writer_options.feature_dim).get(), unreduced, options,
                     summary);
  }
  summary.s3_retries = s3_retry_count() - retries_before;
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace pomona
