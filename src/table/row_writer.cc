// RowWriter (include/pomona/table.h): Parquet files published by rename.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "part_file.h"
#include "pomona/error.h"
#include "pomona/table.h"
#include "pomona/table_arrow.h"

namespace pomona {
namespace internal {
namespace {

namespace fs = std::filesystem;

constexpr char kSuccessName[] = "_SUCCESS";

class ParquetRowWriter : public RowWriter {
 public:
  // Single-file output: folder is empty and every row goes to file_path.
  ParquetRowWriter(fs::path folder, fs::path file_path, const WriterOptions& options,
                   PartNumbering numbering)
      : folder_(std::move(folder)),
        file_path_(std::move(file_path)),
        options_(options),
        schema_(row_schema(options)),
        rows_per_file_(folder_.empty() ? std::numeric_limits<int64_t>::max()
                                       : options.rows_per_file),
        numbering_(std::move(numbering)),
        next_index_(numbering_.first_index) {
    // Opened now, so that an unwritable output stops the job before any work is done.
    open_next_part();
  }

  void append(FeatureRow row) override {
    if (!current_) open_next_part();
    current_->append(row);
    if (current_->rows() == rows_per_file_) publish_current_part();
  }

  std::vector<std::string> commit() override {
    if (current_ && (current_->rows() > 0 || (published_.empty() && numbering_.publish_empty))) {
      publish_current_part();
    }
    current_.reset();
    if (!folder_.empty()) {
      const fs::path success = folder_ / kSuccessName;
      if (!std::ofstream(success)) throw_output_error("write", success, std::strerror(errno));
      published_.push_back(success.string());
    }
    return published_;
  }

  std::vector<std::string> commit_partial() override {
    if (!folder_.empty() && current_ && current_->rows() > 0) publish_current_part();
    current_.reset();
    return published_;
  }

 private:
  void open_next_part() {
    const fs::path path = folder_.empty() ? file_path_ : folder_ / part_file_name(next_index_);
    current_ = std::make_unique<PartFile>(path, schema_, options_);
    ++next_index_;
  }

  void publish_current_part() {
    const int64_t rows = current_->rows();
    const fs::path& path = current_->publish();
    published_.push_back(path.string());
    if (numbering_.on_published) numbering_.on_published(path, rows);
    current_.reset();
  }

  fs::path folder_;
  fs::path file_path_;
  WriterOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t rows_per_file_;
  PartNumbering numbering_;
  int64_t next_index_;
  std::unique_ptr<PartFile> current_;
  std::vector<std::string> published_;
};

// Makes folder ready for a new result: created if missing; a previous result in it (_SUCCESS
// first, so it stops counting as complete, then its manifest and part files) removed; other files
// left alone.
void prepare_output_folder(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw_output_error("create output folder", folder, error.message());
  for (const char* name : {kSuccessName, kManifestName}) {
    fs::remove(folder / name, error);
    if (error) throw_output_error("remove", folder / name, error.message());
  }
  std::vector<fs::path> previous_parts;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    if (part_file_index(it->path().filename().string())) previous_parts.push_back(it->path());
  }
  if (error) throw_output_error("read output folder", folder, error.message());
  for (const fs::path& part : previous_parts) {
    fs::remove(part, error);
    if (error) throw_output_error("remove", part, error.message());
  }
}

}  // namespace

std::unique_ptr<RowWriter> open_folder_writer(const fs::path& folder, const WriterOptions& options,
                                              PartNumbering numbering) {
  return std::make_unique<ParquetRowWriter>(folder, fs::path(), options, std::move(numbering));
}

}  // namespace internal

bool is_single_file_output(const std::string& output) {
  const std::filesystem::path path(output);
  std::error_code ignored;
  // Spark names its output folders "x.parquet"; an existing folder stays a folder.
  return path.extension() == ".parquet" && !std::filesystem::is_directory(path, ignored);
}

std::unique_ptr<RowWriter> RowWriter::open(const std::string& output,
                                           const WriterOptions& options) {
  namespace fs = std::filesystem;
  const fs::path path(output);
  if (!is_single_file_output(output)) {
    internal::prepare_output_folder(path);
    return internal::open_folder_writer(path, options, {});
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) internal::throw_output_error("create output folder", parent, error.message());
  return std::make_unique<internal::ParquetRowWriter>(fs::path(), path, options,
                                                      internal::PartNumbering{});
}

}  // namespace pomona
