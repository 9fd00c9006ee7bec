// table/: the row schema and its Parquet files, written with Apache Arrow/Parquet C++, and the
// commit protocol: nothing a reader could mistake for a result exists until it is complete.
// Knows nothing of images or networks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pomona {

// One output row. features is empty exactly when error is set (written as null).
struct FeatureRow {
  std::string path;
  std::string label;
  std::vector<float> features;
  std::optional<std::string> error;
  // PCA projection, written only when WriterOptions::pca_dim > 0 (null on error rows).
  std::vector<float> pca;
  // The input's identity, written only when WriterOptions::input_identity: its size in bytes and
  // modification time in nanoseconds since the epoch (columns size and mtime). Read back as -1
  // from files without those columns.
  int64_t size = -1;
  int64_t mtime_ns = -1;
};

struct WriterOptions {
  int64_t rows_per_file = 100'000;  // folder output: rows per part file
  int64_t rows_per_group = 1'024;   // Parquet row group size (bounds writer memory)
  int feature_dim = 1280;           // fixed length of every non-null features list
  int pca_dim = 0;                  // > 0: add column pca list<float32> of this length
  // Add columns size int64 and mtime timestamp[ns, UTC] (FeatureRow::size, mtime_ns), after the
  // others: what tells a resumed run which inputs are done.
  bool input_identity = false;
  // Extra key-value pairs for the file's schema metadata, beside pomona.version and
  // pomona.feature_dim, e.g. {"pomona.model", "mobilenet_v2_1.00_224"}.
  std::map<std::string, std::string> metadata;
  // The settings that shape the rows (model, weights hash, decoding), written as schema metadata
  // like `metadata`. ResumableOutput appends only to parts written with the same settings.
  std::map<std::string, std::string> settings;
};

// Text columns (path, label, error) hold valid UTF-8, which every Parquet reader requires, while
// file names are bytes. stored_text gives what is written: the text itself when it is valid UTF-8
// without a backslash (every usual path); otherwise each backslash is written "\\" and each byte
// that is not part of a valid UTF-8 sequence "\xHH" (two lowercase hex digits), so a name of the
// bytes b a d 0xff is stored as the 7 characters `bad\xff`. original_text undoes it: original_text(
// stored_text(b)) == b for all bytes b. read_rows and ResumableOutput return original bytes.
std::string stored_text(std::string_view original);
std::string original_text(std::string_view stored);

// Streams rows to OUTPUT, which is either
//  - a path ending in ".parquet": one file, written to a hidden temp name beside it and renamed
//    into place by commit(); or
//  - a folder (any other path, or an existing folder even if named "x.parquet" as Spark does):
//    created if missing; part files part-00000.parquet, part-00001.parquet, ... of rows_per_file
//    rows, each written under a hidden temp name and renamed when full; commit() renames the last
//    part and then writes _SUCCESS last. A previous result in the folder (_SUCCESS, the manifest
//    of ResumableOutput and part-*.parquet) is removed when the writer opens; other files are left
//    alone.
// Hidden temp names start with "." so that Spark and pyarrow datasets never read them.
// Columns: path string (not null), label string, features list<float32> (null on error, else
// exactly feature_dim values), error string (null when fine), and with pca_dim > 0 pca
// list<float32> (null on error, else exactly pca_dim values); zstd-compressed, row groups of
// rows_per_group rows. The same rows give byte-identical files.
// Destroying a writer without commit() removes its temp files and leaves no _SUCCESS (parts
// already full and renamed stay).
class RowWriter {
 public:
  // Throws JobError(kInputOutput) with one line naming output when it cannot be created.
  static std::unique_ptr<RowWriter> open(const std::string& output, const WriterOptions& options);
  virtual ~RowWriter() = default;

  // Rows must arrive in output order. Throws JobError(kInputOutput) on write failure, and
  // JobError(kConfiguration) for a row without error whose features are not feature_dim long.
  virtual void append(FeatureRow row) = 0;
  // Flushes, publishes every file, returns the published file paths (with _SUCCESS last for a
  // folder). Zero rows still publish one file holding the schema. Call once; append no more.
  virtual std::vector<std::string> commit() = 0;
  // For a run cut short: a folder publishes the rows appended so far as part files, without
  // _SUCCESS, for a later run to resume (ResumableOutput); a single file publishes nothing.
  // Returns the published part files. Call once, instead of commit().
  virtual std::vector<std::string> commit_partial() = 0;
};

// Whether RowWriter::open(output) writes one file rather than a folder of part files.
bool is_single_file_output(const std::string& output);

// What an earlier run committed about one input: enough to tell whether it is done.
struct CommittedInput {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool failed = false;  // its row has an error
};

// A folder output that grows across runs: resume after a crash and incremental runs. Besides the
// part files and _SUCCESS the folder holds _pomona_manifest.jsonl, one line per committed part file
// ({"file": "part-00003.parquet", "rows": 100}), replaced (temp name, fsync, rename) after every
// part file is published. Only the part files it lists are results of this folder's runs, so a
// run killed at any instant leaves nothing the next run counts twice. Rows carry the input
// identity columns (WriterOptions::input_identity), which say what is done.
// Not for two processes writing the same folder at once.
class ResumableOutput {
 public:
  // Opens folder (created if missing) and removes its _SUCCESS. With overwrite, removes its part
  // files and manifest too: a fresh start. Otherwise keeps the part files the manifest lists and
  // removes those it does not list and hidden temp files, which a killed run left behind (the
  // caller holds the folder's OutputLock, so no live run writes them). options.input_identity is
  // implied. Throws JobError(kInputOutput) naming the file that cannot be read, written or
  // removed, and JobError(kConfiguration) for a folder of foreign files (refuse_foreign_files), a
  // manifest Pomona did not write, parts without the identity columns, or parts written with other
  // options.settings, naming the first setting that differs (all suggest --overwrite).
  static std::unique_ptr<ResumableOutput> open(const std::string& folder,
                                               const WriterOptions& options, bool overwrite);
  virtual ~ResumableOutput() = default;

  // The inputs of the committed rows, in part and row order.
  virtual const std::vector<CommittedInput>& committed() const = 0;
  // Rewrites each committed part holding rows of `paths` without them (a part left empty is
  // dropped from the manifest, then removed), so that rows appended afterwards are the only rows
  // of those paths. A crash midway leaves those inputs without a row: the next run redoes them.
  // Call before writer().
  virtual void drop_rows_of(const std::vector<std::string>& paths) = 0;
  // A RowWriter appending part files numbered after the committed ones, each added to the
  // manifest once published. Its commit() returns the files this writer published, then
  // _SUCCESS; with no rows appended it publishes no part unless the folder has none. Call once.
  virtual std::unique_ptr<RowWriter> writer() = 0;
};

// Throws JobError(kConfiguration) naming a file of folder when folder holds files other than
// Pomona's lock and temp files but manifest_folder (folder, or the folder of its resumable rows)
// has no manifest of a ResumableOutput: files Pomona cannot prove its own, which it never removes
// or overwrites. A missing or empty folder passes.
void refuse_foreign_files(const std::string& folder, const std::string& manifest_folder);

// One run at a time per output: an exclusive claim on an output folder or .parquet file, held
// from before anything in it changes until the run ends. Its lock file (output_lock_uri) names the
// owner: pid, host, start time and a run id. Locally the lock is flock() on that file, which the
// kernel drops when its process dies however it dies, so a dead run's lock is taken over at once.
// On S3, which has no locks, it is a lease object with an expiry, renewed while the run lasts and
// taken over once a dead run let it expire (S3Lease in output_lock.cc).
class OutputLock {
 public:
  // Creates the folder that holds the lock file when missing. Throws JobError(kInputOutput)
  // "OUTPUT is being written by pid N on HOST since TIME; wait or remove LOCK if that run is dead"
  // when another run holds it, or naming the lock file that cannot be created.
  static std::unique_ptr<OutputLock> acquire(const std::string& output);
  // Releases the lock: removes its file, or on S3 marks the lease expired (removing an S3 object
  // makes Arrow leave an empty "OUTPUT/" marker object behind).
  virtual ~OutputLock() = default;
  // A random id of this run, distinct across processes and hosts.
  virtual const std::string& run_id() const = 0;
};

// OUTPUT/_pomona_lock for a folder output, .NAME.lock beside a NAME.parquet file.
std::string output_lock_uri(const std::string& output);

// Reads every row of a .parquet file or of a folder of part files (for tests and later stages).
// A folder's *.parquet files are read in name order; names starting with "." or "_" are skipped.
// The identity columns size and mtime are read when present.
// Throws JobError(kInputOutput) naming the file that cannot be read or lacks the row columns.
std::vector<FeatureRow> read_rows(const std::string& path);

// Streams the same rows as read_rows, in the same order, handing them to `consume` a batch of at
// most batch_rows at a time, so memory holds one batch whatever the size of the files. The pca
// column is not read. Throws what read_rows throws, and whatever consume throws.
void read_row_batches(const std::string& path, int64_t batch_rows,
                      const std::function<void(std::vector<FeatureRow>& rows)>& consume);

// Feature rows packed row-major for the PCA: the one reader that turns rows into blocks (the
// PCA of featurize and `pomona pca`, `pomona report`, Python's PcaAccumulator.add and
// PcaModel.transform). Every row must have dim() values (dim 0: the first row's length), all
// finite. A row that breaks that throws JobError(kInputOutput) with one message per problem,
// naming the source (when not empty), the row and the value, and leaves the block unchanged:
//   "SOURCE: row ROW has N features, expected DIM"
//   "SOURCE: row ROW has a NaN or infinite feature (VALUE at index I)"
class FeatureBlock {
 public:
  // source: where the rows come from (a features path), "" when there is no such name.
  explicit FeatureBlock(std::string source = "", int dim = 0);

  // A row of a features file, named by its path; a row with an error has no features and is
  // skipped (returns false).
  bool add(const FeatureRow& row);
  // A row named `row` in messages (its path, or its number where rows have no path).
  void add(std::string_view row, std::span<const float> features);

  int dim() const { return dim_; }
  int64_t rows() const { return static_cast<int64_t>(good_rows_.size()); }
  // rows() x dim() values, row-major.
  std::span<const float> values() const { return values_; }
  // Of each packed row, its position among the rows offered to add() since the last clear().
  const std::vector<int64_t>& good_rows() const { return good_rows_; }
  // Empties the block for the next rows; dim() stays.
  void clear();

 private:
  std::string source_;
  int dim_;
  int64_t offered_ = 0;
  std::vector<float> values_;
  std::vector<int64_t> good_rows_;
};

// Streams the rows of a features path as read_row_batches does, at most batch_rows at a time,
// handing each batch to `consume` with the features of its rows without error packed into a
// FeatureBlock(path, dim) (dim 0: the first such row's length, then kept for every batch).
// Throws what read_row_batches and FeatureBlock::add throw, and whatever consume throws.
void read_feature_blocks(
    const std::string& path, int dim, int64_t batch_rows,
    const std::function<void(std::vector<FeatureRow>& rows, const FeatureBlock& block)>& consume);

// The settings a features path records in its schema metadata (WriterOptions::settings and
// metadata: featurize's feature_settings, pomona.version), read from its first file in
// read_rows' order; empty when there is no such file or it records none.
std::map<std::string, std::string> recorded_settings(const std::string& features);

}  // namespace pomona
