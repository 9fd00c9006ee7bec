// pipeline/: the only place that knows the order of the stages:
// list -> read -> decode -> resize+preprocess -> infer (batched) -> write.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"
#include "pomona/pca.h"

namespace pomona {

// The most threads and images per network call featurize accepts.
inline constexpr int kMaxThreads = 1024;
inline constexpr int kMaxBatch = 256;

// The rules of FeaturizeOptions::threads and ::batch, which every face applies to its own
// parameter (the CLI's --threads/--batch, pomona.featurize_batch's threads/batch, the Spark job's):
// the value, or why it is refused in words about the value ("must be 0 (all cores) to 1024, not
// -1"), which the face prefixes with its parameter's name.
Result<int> check_threads(int64_t threads);  // 0 (all cores) to kMaxThreads
Result<int> check_batch(int64_t batch);      // 1 to kMaxBatch
// The threads a budget means: `threads`, or every core for 0.
int thread_budget(int threads);

struct FeaturizeOptions {
  std::string input;   // folder (listed recursively) or one image file
  std::string output;  // .parquet file or folder of part files
  ListOptions list;
  LabelFrom label_from = LabelFrom::kParent;
  std::string weights;  // Keras weights file; "" = Keras' cache for spec
  MobileNetV2Spec spec;
  int threads = 0;  // total thread budget; 0 = all cores
  // Images per network call. 1: on 2-core Zen3 the network alone runs 138.9 img/s at batch 1
  // against 131.5 at 4 (its activations stay in cache), and 12 MP photos balance better across
  // workers at the end of a run (PNGs 14.4 against 13.3-13.9 img/s at 2 threads).
  int batch = 1;
  Precision precision = Precision::kFp32;  // see model.h
  int64_t rows_per_file = 100'000;
  bool jpeg_draft = false;      // decode JPEGs at reduced scale as Pillow's Image.draft (batch.h)
  bool exif_transpose = false;  // apply EXIF orientation as Pillow's ImageOps.exif_transpose
  // With a value: fit a PCA on the rows written, save it to pca_model ("" = default_pca_model_path)
  // and publish the output with its pca column (see add_pca_column).
  std::optional<PcaFitOptions> pca;
  std::string pca_model;
  // A folder output resumes (ResumableOutput, table.h): inputs whose path, size and mtime match a
  // committed row are skipped, new ones appended in new part files, changed ones redone (their old
  // rows dropped). overwrite: start afresh instead. retry_errors: redo committed error rows too.
  // A single .parquet output is always written afresh.
  // Before anything in the output changes, the run takes its OutputLock (table.h): a second run
  // on the same output fails at once. Resuming is refused when the committed rows were made with
  // other feature settings (feature_settings), and a folder holding files no Pomona run recorded
  // is never touched (refuse_foreign_files); overwrite starts afresh in both cases.
  bool overwrite = false;
  bool retry_errors = false;
  // Rows of inputs no longer listed (deleted, renamed, outside a new --glob) are kept by default
  // and counted in Summary::vanished; prune_deleted drops them instead.
  bool prune_deleted = false;
  // An input larger than this becomes an error row naming it, before any of it is read, so memory
  // stays bounded by threads x max_file_bytes (read_bytes).
  int64_t max_file_bytes = kDefaultMaxFileBytes;
  // Threads that fetch the bytes of upcoming inputs, in listing order, ahead of the workers
  // (at most 256 MiB ahead), so that decoding never waits on one slow GET. Independent of
  // `threads`: they wait on the network, not the CPU. -1 = 8 for s3:// inputs, none for local
  // ones (workers read their own files); 0 = none.
  int io_threads = -1;
  // When set (a signal handler), no new input is taken; the rows done so far are committed.
  const std::atomic<bool>* stop = nullptr;
};

struct Summary {
  int64_t images = 0;      // rows written
  int64_t errors = 0;      // rows with an error
  int64_t skipped = 0;     // inputs a resumed run found done in the output
  int64_t vanished = 0;    // committed rows whose input is no longer listed (kept, or pruned)
  ListReport listing;      // what the listing skipped (hidden names, unreadable folders)
  bool stopped = false;    // FeaturizeOptions::stop cut the run short (no _SUCCESS written)
  double seconds = 0;      // wall time from listing to commit
  int64_t s3_retries = 0;  // S3 requests retried during the run (throttling, 5xx, dropped)
  std::string weights;
  std::vector<std::string> files;         // published output files
  std::vector<std::string> first_errors;  // "path: error" of the first few error rows
  int pca_k = 0;                          // with FeaturizeOptions::pca: components kept
  double pca_variance = 0;                // and the share of the variance they explain
  std::string pca_model;                  // and where the model was saved
};

// Receives progress from featurize(), always on the thread that called featurize().
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  virtual void on_start(int64_t total_images) {}
  virtual void on_progress(int64_t done, int64_t errors) {}
};

// Runs the whole job. Rows come out in listing order; a bad image is a row with an error.
// Throws JobError when the job cannot go on (no input, bad weights, unwritable output); then no
// output is published beyond the part files a folder output committed. With --pca and a folder
// output the rows without pca are kept, resumable, in OUTPUT/_unreduced, and the PCA is refit on
// all of them at the end of each run. Memory is bounded by the batch size and thread count, not by
// the number of images.
Summary featurize(const FeaturizeOptions& options, ProgressListener* listener = nullptr);

// The weights file featurize() uses for options: options.weights, else Keras' cache. Throws
// JobError(kConfiguration) saying how to get the file when there is none.
std::string resolve_weights(const FeaturizeOptions& options);

// The settings that shape the features, as recorded in every output file's metadata
// (WriterOptions::settings): the identity_settings (model.h) of options' network and decoding
// made with the weights whose SHA-256 is weights_sha256 (KerasWeights::sha256). Beside them each
// file records pomona.version.
std::map<std::string, std::string> feature_settings(const FeaturizeOptions& options,
                                                    const std::string& weights_sha256);

// PCA over feature files (.parquet file or folder of part files), streamed in batches so memory
// does not grow with the number of rows. Rows with an error are skipped.
//
// Fits a model on the features of `features`, merged into `previous` statistics when given (an
// earlier model's accumulator(): an incremental update that reads only the new rows). Throws
// JobError(kInputOutput) naming the file and row for a features list of another length than the
// others or a NaN or infinite value; JobError(kConfiguration) for fewer than 2 rows or bad options
// (PcaModel::fit). Nothing is written.
PcaModel fit_pca(const std::string& features, const PcaFitOptions& options,
                 const PcaAccumulator* previous = nullptr);

// Writes the rows of `features` to `output` (RowWriter: .parquet file or folder, published only
// when complete) with a `pca` column: model.transform of the features, null on error rows. Returns
// the published files; none, and no _SUCCESS, when `stop` is set before the last row is written.
// settings: recorded in the output's metadata (feature_settings of the run that made features).
// Throws JobError(kInputOutput) naming the row whose features do not have model.dim() values.
std::vector<std::string> add_pca_column(const std::string& features, const PcaModel& model,
                                        const std::string& output, int64_t rows_per_file,
                                        const std::atomic<bool>* stop = nullptr,
                                        const std::map<std::string, std::string>& settings = {});

// Where featurize saves the PCA model by default: OUTPUT/_pca_model.parquet for a folder output
// (readers skip names starting with "_"), x.pca-model.parquet beside an x.parquet output file.
std::string default_pca_model_path(const std::string& output);

}  // namespace pomona
