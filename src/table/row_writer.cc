// RowWriter (include/pomona/table.h): Parquet files published by rename.
#include <arrow/builder.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "io/arrow_status.h"
#include "pomona/error.h"
#include "pomona/table.h"
#include "pomona/table_arrow.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;

constexpr char kSuccessName[] = "_SUCCESS";
constexpr char kFeaturesLeafColumn[] = "features.list.element";
constexpr char kPcaLeafColumn[] = "pca.list.element";

[[noreturn]] void throw_output_error(const std::string& action, const fs::path& path,
                                     const std::string& reason) {
  throw JobError(ExitCode::kInputOutput, "cannot " + action + " " + path.string() + ": " + reason);
}

void check(const arrow::Status& status, const std::string& action, const fs::path& path) {
  if (!status.ok()) throw_output_error(action, path, internal::reason_of(status));
}

template <typename T>
T check(arrow::Result<T> result, const std::string& action, const fs::path& path) {
  check(result.status(), action, path);
  return std::move(result).ValueUnsafe();
}

// Zstd level 1: writing 100k rows of 1280 feature-like floats (table_benchmark, Zen3) took 2.3 s
// uncompressed (517 MB), 3.3 s with snappy (419 MB) and 4.0 s with zstd (370 MB). Inference needs
// minutes for those rows, so the smallest file wins. Dictionaries and min/max statistics only
// where they help: labels repeat, while paths are unique and per-feature statistics are noise.
std::shared_ptr<parquet::WriterProperties> writer_properties() {
  return parquet::WriterProperties::Builder()
      .compression(parquet::Compression::ZSTD)
      ->compression_level(1)
      ->disable_dictionary("path")
      ->disable_dictionary(kFeaturesLeafColumn)
      ->disable_statistics(kFeaturesLeafColumn)
      ->disable_dictionary(kPcaLeafColumn)
      ->disable_statistics(kPcaLeafColumn)
      ->build();
}

// ".<name>.tmp-<pid>": hidden, and distinct per process.
std::string temp_name_of(const fs::path& final_path) {
  std::string name = ".";
  name += final_path.filename().string();
  name += ".tmp-";
  name += std::to_string(getpid());
  return name;
}

// One Parquet file, written under a hidden temp name beside its final name until publish()
// renames it into place. Readers (pyarrow, Spark) ignore names starting with ".", so an unfinished
// file is never mistaken for a result.
class PartFile {
 public:
  PartFile(fs::path final_path, const std::shared_ptr<arrow::Schema>& schema,
           const WriterOptions& options)
      : final_path_(std::move(final_path)),
        temp_path_(final_path_.parent_path() / temp_name_of(final_path_)),
        rows_per_group_(options.rows_per_group),
        group_(options) {
    stream_ = check(arrow::io::FileOutputStream::Open(temp_path_.string()), "create", final_path_);
    writer_ = check(parquet::arrow::FileWriter::Open(
                        *schema, arrow::default_memory_pool(), stream_, writer_properties(),
                        parquet::ArrowWriterProperties::Builder().store_schema()->build()),
                    "create", final_path_);
  }

  ~PartFile() {
    if (published_) return;
    // Abandoned: the footer the writer adds on destruction lands in a file about to be removed.
    writer_.reset();
    (void)stream_->Close();
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
  }

  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  void append(const FeatureRow& row) {
    group_.append(row);
    ++rows_;
    if (group_.rows() == rows_per_group_) write_group();
  }

  int64_t rows() const { return rows_; }

  // Writes the footer, makes the bytes durable, then renames the file into place.
  const fs::path& publish() {
    if (group_.rows() > 0) write_group();
    check(writer_->Close(), "write", final_path_);
    // Without fsync a crash after the rename could leave a published file with missing bytes.
    if (fsync(stream_->file_descriptor()) != 0) {
      throw_output_error("write", final_path_, std::strerror(errno));
    }
    check(stream_->Close(), "write", final_path_);
    std::error_code error;
    fs::rename(temp_path_, final_path_, error);
    if (error) throw_output_error("publish", final_path_, error.message());
    published_ = true;
    return final_path_;
  }

 private:
  void write_group() {
    check(writer_->NewRowGroup(), "write", final_path_);
    const std::shared_ptr<arrow::RecordBatch> group = group_.finish();
    for (const auto& column : group->columns()) {
      check(writer_->WriteColumnChunk(*column), "write", final_path_);
    }
  }

  fs::path final_path_;
  fs::path temp_path_;
  int64_t rows_per_group_;
  int64_t rows_ = 0;
  RowBatchBuilder group_;  // the row group being built
  std::shared_ptr<arrow::io::FileOutputStream> stream_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  bool published_ = false;
};

bool is_part_file_name(const std::string& name) {
  constexpr std::string_view kPrefix = "part-", kSuffix = ".parquet";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return false;
  }
  const std::string_view digits(name.data() + kPrefix.size(),
                                name.size() - kPrefix.size() - kSuffix.size());
  return digits.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string part_file_name(int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "part-%05d.parquet", index);
  return name;
}

// Makes folder ready for a new result: created if missing; a previous result in it (_SUCCESS
// first, so it stops counting as complete, then its part files) removed; other files left alone.
void prepare_output_folder(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw_output_error("create output folder", folder, error.message());
  fs::remove(folder / kSuccessName, error);
  if (error) throw_output_error("remove", folder / kSuccessName, error.message());
  std::vector<fs::path> previous_parts;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    if (is_part_file_name(it->path().filename().string())) previous_parts.push_back(it->path());
  }
  if (error) throw_output_error("read output folder", folder, error.message());
  for (const fs::path& part : previous_parts) {
    fs::remove(part, error);
    if (error) throw_output_error("remove", part, error.message());
  }
}

class ParquetRowWriter : public RowWriter {
 public:
  // Single-file output: folder is empty and every row goes to file_path.
  ParquetRowWriter(fs::path folder, fs::path file_path, const WriterOptions& options)
      : folder_(std::move(folder)),
        file_path_(std::move(file_path)),
        options_(options),
        schema_(row_schema(options)),
        rows_per_file_(folder_.empty() ? std::numeric_limits<int64_t>::max()
                                       : options.rows_per_file) {
    // Opened now, so that an unwritable output stops the job before any work is done.
    open_next_part();
  }

  void append(FeatureRow row) override {
    if (!current_) open_next_part();
    current_->append(row);
    if (current_->rows() == rows_per_file_) publish_current_part();
  }

  std::vector<std::string> commit() override {
    if (current_) publish_current_part();
    if (!folder_.empty()) {
      const fs::path success = folder_ / kSuccessName;
      if (!std::ofstream(success)) throw_output_error("write", success, std::strerror(errno));
      published_.push_back(success.string());
    }
    return published_;
  }

 private:
  void open_next_part() {
    const fs::path path =
        folder_.empty() ? file_path_ : folder_ / part_file_name(static_cast<int>(parts_opened_));
    current_ = std::make_unique<PartFile>(path, schema_, options_);
    ++parts_opened_;
  }

  void publish_current_part() {
    published_.push_back(current_->publish().string());
    current_.reset();
  }

  fs::path folder_;
  fs::path file_path_;
  WriterOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t rows_per_file_;
  int64_t parts_opened_ = 0;
  std::unique_ptr<PartFile> current_;
  std::vector<std::string> published_;
};

}  // namespace

std::unique_ptr<RowWriter> RowWriter::open(const std::string& output,
                                           const WriterOptions& options) {
  const fs::path path(output);
  std::error_code ignored;
  // Spark names its output folders "x.parquet"; an existing folder stays a folder.
  if (path.extension() != ".parquet" || fs::is_directory(path, ignored)) {
    prepare_output_folder(path);
    return std::make_unique<ParquetRowWriter>(path, fs::path(), options);
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) throw_output_error("create output folder", parent, error.message());
  return std::make_unique<ParquetRowWriter>(fs::path(), path, options);
}

}  // namespace pomona
