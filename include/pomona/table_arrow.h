// The Arrow form of rows (include/pomona/table.h): the row schema and a builder of record
// batches. One definition shared by the Parquet writer and the Python module, so every face of
// Pomona gives the same columns. Separate from table.h to keep Arrow out of most includes.
#pragma once

#include <arrow/api.h>

#include <memory>
#include <string>
#include <vector>

#include "pomona/table.h"

namespace pomona {

// The type of the mtime column: timestamp[ns, UTC].
std::shared_ptr<arrow::DataType> mtime_type();

// path string (not null), label string, features list<float32>, error string, pca
// list<float32> when options.pca_dim > 0, size int64 and mtime (mtime_type) when
// options.input_identity; metadata pomona.version, pomona.feature_dim and options.metadata.
std::shared_ptr<arrow::Schema> row_schema(const WriterOptions& options);

// Accumulates rows column by column.
class RowBatchBuilder {
 public:
  explicit RowBatchBuilder(const WriterOptions& options);

  // Throws JobError(kConfiguration) naming the row when a good row's features (or pca values)
  // do not have the table's length.
  void append(const FeatureRow& row);
  int64_t rows() const { return rows_; }
  // The rows appended since the last finish(), as one record batch of row_schema(options).
  std::shared_ptr<arrow::RecordBatch> finish();

 private:
  std::shared_ptr<arrow::Schema> schema_;
  int64_t feature_dim_;
  int64_t pca_dim_;
  bool input_identity_;
  int64_t rows_ = 0;
  arrow::StringBuilder path_;
  arrow::StringBuilder label_;
  arrow::ListBuilder features_;
  arrow::StringBuilder error_;
  arrow::ListBuilder pca_;
  arrow::Int64Builder size_;
  arrow::TimestampBuilder mtime_;
};

namespace internal {
class PartFile;
}

// One Parquet file of rows, laid out as RowWriter lays out its part files (row_schema, zstd,
// dictionaries and statistics where they help, row groups of options.rows_per_group rows), for
// writers outside RowWriter such as Spark tasks. Nothing exists under uri until publish(), which
// writes it whole (a local file renamed into place, an S3 upload completed); destroyed
// unpublished, it leaves nothing. options.feature_dim is that of the first row with features
// (options' own while there is none); batches with a pca column give the file one.
class PartFileWriter {
 public:
  PartFileWriter(std::string uri, WriterOptions options);
  ~PartFileWriter();
  PartFileWriter(const PartFileWriter&) = delete;
  PartFileWriter& operator=(const PartFileWriter&) = delete;

  // batch has row_schema's columns path, label, features, error [, pca]. Throws
  // JobError(kConfiguration) for a good row whose features (pca) differ in length from the
  // first's, JobError(kInputOutput) naming uri when it cannot be written.
  void append(const arrow::RecordBatch& batch);
  int64_t rows() const { return rows_; }
  // Publishes the rows appended (none: a file holding the schema). Call once.
  void publish();

 private:
  void open();

  std::string uri_;
  WriterOptions options_;
  bool has_pca_ = false;
  int64_t rows_ = 0;
  std::vector<FeatureRow> held_;  // rows without features, before the file can be opened
  std::unique_ptr<internal::PartFile> file_;
};

}  // namespace pomona
