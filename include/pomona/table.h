// table/: the row schema and its Parquet files, written with Apache Arrow/Parquet C++, and the
// commit protocol: nothing a reader could mistake for a result exists until it is complete.
// Knows nothing of images or networks.
#pragma once

#include <cstdint>
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
};

struct WriterOptions {
  int64_t rows_per_file = 100'000;  // folder output: rows per part file
  int64_t rows_per_group = 1'024;   // Parquet row group size (bounds writer memory)
  int feature_dim = 1280;           // fixed length of every non-null features list
};

// Streams rows to OUTPUT, which is either
//  - a path ending in ".parquet": one file, written to a hidden temp name beside it and renamed
//    into place by commit(); or
//  - a folder: part files part-00000.parquet, part-00001.parquet, ... of rows_per_file rows, each
//    written under a hidden temp name and renamed when full; commit() renames the last part and
//    then writes _SUCCESS last.
// Columns: path string, label string, features list<float32> (null on error), error string.
// Destroying a writer without commit() removes its temp files and leaves no _SUCCESS.
class RowWriter {
 public:
  // Throws JobError(kInputOutput) with one line naming output when it cannot be created.
  static std::unique_ptr<RowWriter> open(const std::string& output, const WriterOptions& options);
  virtual ~RowWriter() = default;

  // Rows must arrive in output order. Throws JobError(kInputOutput) on write failure.
  virtual void append(FeatureRow row) = 0;
  // Flushes, publishes every file, returns the published file paths.
  virtual std::vector<std::string> commit() = 0;
};

// Reads every row of a .parquet file or of a folder of part files (for tests and later stages).
std::vector<FeatureRow> read_rows(const std::string& path);

}  // namespace pomona
