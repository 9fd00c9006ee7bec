// PartFile and the names of part files (part_file.h).
#include "part_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/arrow_status.h"
#include "pomona/error.h"

namespace pomona::internal {
namespace {

namespace fs = std::filesystem;

constexpr char kFeaturesLeafColumn[] = "features.list.element";
constexpr char kPcaLeafColumn[] = "pca.list.element";
constexpr std::string_view kTempInfix = ".tmp-";

void check(const arrow::Status& status, const std::string& action, const fs::path& path) {
  if (!status.ok()) throw_output_error(action, path, reason_of(status));
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

}  // namespace

void throw_output_error(const std::string& action, const fs::path& path,
                        const std::string& reason) {
  throw JobError(ExitCode::kInputOutput, "cannot " + action + " " + path.string() + ": " + reason);
}

std::string part_file_name(int64_t index) {
  char name[40];
  std::snprintf(name, sizeof(name), "part-%05lld.parquet", static_cast<long long>(index));
  return name;
}

std::optional<int64_t> part_file_index(const std::string& name) {
  constexpr std::string_view kPrefix = "part-", kSuffix = ".parquet";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.size() > 30 ||
      !name.starts_with(kPrefix) || !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(digits);
}

std::string temp_name_of(const fs::path& final_path) {
  std::string name = ".";
  name += final_path.filename().string();
  name += kTempInfix;
  name += std::to_string(getpid());
  return name;
}

bool is_temp_name(const std::string& name) {
  const size_t infix = name.rfind(kTempInfix);
  return name.starts_with(".") && infix != std::string::npos &&
         infix + kTempInfix.size() < name.size() &&
         name.find_first_not_of("0123456789", infix + kTempInfix.size()) == std::string::npos;
}

void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) close(fd);
    throw_output_error("sync", folder, reason);
  }
  close(fd);
}

PartFile::PartFile(fs::path final_path, const std::shared_ptr<arrow::Schema>& schema,
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

PartFile::~PartFile() {
  if (published_) return;
  // Abandoned: the footer the writer adds on destruction lands in a file about to be removed.
  writer_.reset();
  (void)stream_->Close();
  std::error_code ignored;
  fs::remove(temp_path_, ignored);
}

void PartFile::append(const FeatureRow& row) {
  group_.append(row);
  ++rows_;
  if (group_.rows() == rows_per_group_) write_group();
}

const fs::path& PartFile::publish() {
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

void PartFile::write_group() {
  check(writer_->NewRowGroup(), "write", final_path_);
  const std::shared_ptr<arrow::RecordBatch> group = group_.finish();
  for (const auto& column : group->columns()) {
    check(writer_->WriteColumnChunk(*column), "write", final_path_);
  }
}

}  // namespace pomona::internal
