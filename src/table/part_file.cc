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

namespace pomona {

PartFileWriter::PartFileWriter(std::string uri, WriterOptions options)
    : uri_(std::move(uri)), options_(std::move(options)) {}

PartFileWriter::~PartFileWriter() = default;

void PartFileWriter::append(const arrow::RecordBatch& batch) {
  std::vector<FeatureRow> rows;
  internal::append_rows_of_batch(batch, uri_, rows);
  if (const auto pca = batch.GetColumnByName("pca")) {
    has_pca_ = true;
    const auto lists = std::dynamic_pointer_cast<arrow::ListArray>(pca);
    const auto values =
        lists ? std::dynamic_pointer_cast<arrow::FloatArray>(lists->values()) : nullptr;
    if (values == nullptr) {
      throw JobError(ExitCode::kInputOutput, "cannot write " + uri_ + ": column 'pca' has type " +
                                                 pca->type()->ToString() + ", not list<float>");
    }
    for (int64_t i = 0; i < batch.num_rows(); ++i) {
      if (lists->IsNull(i)) continue;
      const float* begin = values->raw_values() + lists->value_offset(i);
      rows[i].pca.assign(begin, begin + lists->value_length(i));
    }
  }
  for (FeatureRow& row : rows) {
    if (!file_ && row.features.empty()) {
      held_.push_back(std::move(row));
      continue;
    }
    if (!file_) {
      options_.feature_dim = static_cast<int>(row.features.size());
      if (has_pca_) options_.pca_dim = static_cast<int>(row.pca.size());
      open();
    }
    file_->append(row);
  }
  rows_ += batch.num_rows();
}

void PartFileWriter::open() {
  // A pca column whose rows all failed still gets its column.
  if (has_pca_ && options_.pca_dim == 0) options_.pca_dim = 1;
  file_ = std::make_unique<internal::PartFile>(uri_, row_schema(options_), options_);
  for (const FeatureRow& row : held_) file_->append(row);
  held_.clear();
}

void PartFileWriter::publish() {
  if (!file_) open();
  file_->publish();
}

}  // namespace pomona
