// RowWriter (include/pomona/table.h): Parquet files published atomically, locally or on S3.
#include <limits>

#include "part_file.h"
#include "pomona/error.h"
#include "pomona/table.h"
#include "pomona/table_arrow.h"

namespace pomona {
namespace internal {
namespace {

constexpr char kSuccessName[] = "_SUCCESS";

class ParquetRowWriter : public RowWriter {
 public:
  // Single-file output: folder is empty and every row goes to file_path.
  ParquetRowWriter(std::string folder, std::string file_path, const WriterOptions& options,
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
      // Last: the commit point that readers honouring _SUCCESS wait for.
      const std::string success = files::join_uri(folder_, kSuccessName);
      files::write_file_atomically(success, "");
      published_.push_back(success);
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
    const std::string path =
        folder_.empty() ? file_path_ : files::join_uri(folder_, part_file_name(next_index_));
    current_ = std::make_unique<PartFile>(path, schema_, options_);
    ++next_index_;
  }

  void publish_current_part() {
    const int64_t rows = current_->rows();
    const std::string& path = current_->publish();
    published_.push_back(path);
    if (numbering_.on_published) numbering_.on_published(path, rows);
    current_.reset();
  }

  std::string folder_;
  std::string file_path_;
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
void prepare_output_folder(const std::string& folder) {
  files::make_folder(folder);
  for (const char* name : {kSuccessName, kManifestName})
    files::remove_file(files::join_uri(folder, name));
  for (const std::string& name : files::file_names_in(folder)) {
    if (part_file_index(name)) files::remove_file(files::join_uri(folder, name));
  }
}

}  // namespace

std::unique_ptr<RowWriter> open_folder_writer(const std::string& folder,
                                              const WriterOptions& options,
                                              PartNumbering numbering) {
  return std::make_unique<ParquetRowWriter>(folder, "", options, std::move(numbering));
}

}  // namespace internal

bool is_single_file_output(const std::string& output) {
  // Spark names its output folders "x.parquet"; an existing folder stays a folder.
  return output.ends_with(".parquet") && !files::is_folder(output);
}

std::unique_ptr<RowWriter> RowWriter::open(const std::string& output,
                                           const WriterOptions& options) {
  if (!is_single_file_output(output)) {
    internal::prepare_output_folder(output);
    return internal::open_folder_writer(output, options, {});
  }
  files::make_folder(files::containing_folder(output));
  return std::make_unique<internal::ParquetRowWriter>("", output, options,
                                                      internal::PartNumbering{});
}

}  // namespace pomona
