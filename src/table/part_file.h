// Internals of table/ shared by RowWriter and ResumableOutput: one Parquet part file published
// atomically (pomona/files.h: rename on local disks, a completed upload on S3), and the names of
// part files. Paths are URIs: local paths, file:// or s3://.
#pragma once

#include <parquet/arrow/writer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pomona/files.h"
#include "pomona/table.h"
#include "pomona/table_arrow.h"

namespace pomona::internal {

// The manifest of a resumable folder (ResumableOutput); hidden from readers by its "_".
inline constexpr char kManifestName[] = "_pomona_manifest.jsonl";

// "part-00042.parquet" for 42, and whether a name is one of those (the index when it is).
std::string part_file_name(int64_t index);
std::optional<int64_t> part_file_index(const std::string& name);

// One Parquet file, invisible under its final name until publish() (AtomicFile): readers never
// mistake an unfinished file for a result. Destroyed unpublished, it leaves nothing.
class PartFile {
 public:
  PartFile(std::string final_uri, const std::shared_ptr<arrow::Schema>& schema,
           const WriterOptions& options);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  void append(const FeatureRow& row);
  int64_t rows() const { return rows_; }

  // Writes the footer, makes the bytes durable, then publishes the file under its final name
  // (replacing a file of that name).
  const std::string& publish();

 private:
  void write_group();

  std::string final_uri_;
  int64_t rows_per_group_;
  int64_t rows_ = 0;
  RowBatchBuilder group_;  // the row group being built
  files::AtomicFile file_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
};

// Appends the rows of a record batch with the row columns (path, label, features, error, and
// size and mtime when present) to rows, original_text undoing stored_text; file names the
// batch's file in errors. Throws JobError(kInputOutput) for a missing column or a wrong type.
void append_rows_of_batch(const arrow::RecordBatch& batch, const std::string& file,
                          std::vector<FeatureRow>& rows);

// How a folder RowWriter numbers and reports its parts; the default is a fresh folder.
struct PartNumbering {
  int64_t first_index = 0;
  // Runs after each part file is published, with its path and row count.
  std::function<void(const std::string& part, int64_t rows)> on_published;
  // Whether commit() publishes a part holding only the schema when no row was appended.
  bool publish_empty = true;
};

// A RowWriter of part files in folder, which must exist.
std::unique_ptr<RowWriter> open_folder_writer(const std::string& folder,
                                              const WriterOptions& options,
                                              PartNumbering numbering);

}  // namespace pomona::internal
