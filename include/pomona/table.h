// table/: the row schema and its Parquet files, written with Apache Arrow/Parquet C++, and the
// commit protocol: nothing a reader could mistake for a result exists until it is complete.
// Knows nothing of images or networks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
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
};

struct WriterOptions {
  int64_t rows_per_file = 100'000;  // folder output: rows per part file
  int64_t rows_per_group = 1'024;   // Parquet row group size (bounds writer memory)
  int feature_dim = 1280;           // fixed length of every non-null features list
  int pca_dim = 0;                  // > 0: add column pca list<float32> of this length
  // Extra key-value pairs for the file's schema metadata, beside pomona.version and
  // pomona.feature_dim, e.g. {"pomona.model", "mobilenet_v2_1.00_224"}.
  std::map<std::string, std::string> metadata;
};

// Streams rows to OUTPUT, which is either
//  - a path ending in ".parquet": one file, written to a hidden temp name beside it and renamed
//    into place by commit(); or
//  - a folder (any other path, or an existing folder even if named "x.parquet" as Spark does):
//    created if missing; part files part-00000.parquet, part-00001.parquet, ... of rows_per_file
//    rows, each written under a hidden temp name and renamed when full; commit() renames the last
//    part and then writes _SUCCESS last. A previous result in the folder (_SUCCESS and
//    part-*.parquet) is removed when the writer opens; other files are left alone.
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
};

// Reads every row of a .parquet file or of a folder of part files (for tests and later stages).
// A folder's *.parquet files are read in name order; names starting with "." or "_" are skipped.
// Throws JobError(kInputOutput) naming the file that cannot be read or lacks the row columns.
std::vector<FeatureRow> read_rows(const std::string& path);

// Streams the same rows as read_rows, in the same order, handing them to `consume` a batch of at
// most batch_rows at a time, so memory holds one batch whatever the size of the files. The pca
// column is not read. Throws what read_rows throws, and whatever consume throws.
void read_row_batches(const std::string& path, int64_t batch_rows,
                      const std::function<void(std::vector<FeatureRow>& rows)>& consume);

}  // namespace pomona
