// Internals of table/ shared by RowWriter and ResumableOutput: one Parquet part file published by
// rename, the names of part files, and durable renames.
#pragma once

#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "pomona/table.h"
#include "pomona/table_arrow.h"

namespace pomona::internal {

// The manifest of a resumable folder (ResumableOutput); hidden from readers by its "_".
inline constexpr char kManifestName[] = "_pomona_manifest.jsonl";

[[noreturn]] void throw_output_error(const std::string& action, const std::filesystem::path& path,
                                     const std::string& reason);

// "part-00042.parquet" for 42, and whether a name is one of those (the index when it is).
std::string part_file_name(int64_t index);
std::optional<int64_t> part_file_index(const std::string& name);

// ".<name>.tmp-<pid>": hidden, and distinct per process.
std::string temp_name_of(const std::filesystem::path& final_path);
// Whether name is a temp name temp_name_of gave for some process.
bool is_temp_name(const std::string& name);

// Makes the folder's entries (names created, renamed or removed) survive a power cut.
void sync_folder(const std::filesystem::path& folder);

// One Parquet file, written under a hidden temp name beside its final name until publish()
// renames it into place. Readers (pyarrow, Spark) ignore names starting with ".", so an unfinished
// file is never mistaken for a result. Destroyed unpublished, it removes its temp file.
class PartFile {
 public:
  PartFile(std::filesystem::path final_path, const std::shared_ptr<arrow::Schema>& schema,
           const WriterOptions& options);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  void append(const FeatureRow& row);
  int64_t rows() const { return rows_; }

  // Writes the footer, makes the bytes durable, then renames the file into place (replacing a
  // file of that name).
  const std::filesystem::path& publish();

 private:
  void write_group();

  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  int64_t rows_per_group_;
  int64_t rows_ = 0;
  RowBatchBuilder group_;  // the row group being built
  std::shared_ptr<arrow::io::FileOutputStream> stream_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  bool published_ = false;
};

// How a folder RowWriter numbers and reports its parts; the default is a fresh folder.
struct PartNumbering {
  int64_t first_index = 0;
  // Runs after each part file is published, with its path and row count.
  std::function<void(const std::filesystem::path& part, int64_t rows)> on_published;
  // Whether commit() publishes a part holding only the schema when no row was appended.
  bool publish_empty = true;
};

// A RowWriter of part files in folder, which must exist.
std::unique_ptr<RowWriter> open_folder_writer(const std::filesystem::path& folder,
                                              const WriterOptions& options,
                                              PartNumbering numbering);

}  // namespace pomona::internal
