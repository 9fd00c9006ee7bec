// PartFile and the names of part files (part_file.h).
#include "part_file.h"

#include <cstdio>

#include "pomona/error.h"
#include "pomona/files.h"

namespace pomona::internal {
namespace {

constexpr char kFeaturesLeafColumn[] = "features.list.element";
constexpr char kPcaLeafColumn[] = "pca.list.element";

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

PartFile::PartFile(std::string final_uri, const std::shared_ptr<arrow::Schema>& schema,
                   const WriterOptions& options)
    : final_uri_(std::move(final_uri)),
      rows_per_group_(options.rows_per_group),
      group_(options),
      file_(final_uri_) {
  writer_ = files::check_io(
      parquet::arrow::FileWriter::Open(
          *schema, arrow::default_memory_pool(), file_.stream(), writer_properties(),
          parquet::ArrowWriterProperties::Builder().store_schema()->build()),
      "create", final_uri_);
}

PartFile::~PartFile() {
  // Abandoned or published: the footer an unclosed writer adds on destruction lands in a stream
  // that file_ then discards.
  writer_.reset();
}

void PartFile::append(const FeatureRow& row) {
  group_.append(row);
  ++rows_;
  if (group_.rows() == rows_per_group_) write_group();
}

const std::string& PartFile::publish() {
  if (group_.rows() > 0) write_group();
  files::check_io(writer_->Close(), "write", final_uri_);
  file_.publish();
  return final_uri_;
}

void PartFile::write_group() {
  files::check_io(writer_->NewRowGroup(), "write", final_uri_);
  const std::shared_ptr<arrow::RecordBatch> group = group_.finish();
  for (const auto& column : group->columns()) {
    files::check_io(writer_->WriteColumnChunk(*column), "write", final_uri_);
  }
}

}  // namespace pomona::internal
