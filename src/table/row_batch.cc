// RowBatchBuilder and row_schema (include/pomona/table_arrow.h).
#include <arrow/util/key_value_metadata.h>

#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/table_arrow.h"

namespace pomona {
namespace {

// Builders fail when memory runs out or a column outgrows Arrow's offsets: the job stops.
void check_append(const arrow::Status& status) { files::check_arrow(status, "build a row batch"); }

// Appends values as one list, or a null list when values is null.
void append_floats(arrow::ListBuilder& builder, const std::vector<float>* values) {
  if (values == nullptr) {
    check_append(builder.AppendNull());
    return;
  }
  check_append(builder.Append());
  auto* floats = static_cast<arrow::FloatBuilder*>(builder.value_builder());
  check_append(floats->AppendValues(values->data(), values->size()));
}

void check_length(const FeatureRow& row, const std::vector<float>& values, int64_t expected,
                  const char* what) {
  if (static_cast<int64_t>(values.size()) != expected) {
    throw JobError(ExitCode::kConfiguration, "row " + row.path + " has " +
                                                 std::to_string(values.size()) + " " + what +
                                                 ", the table expects " + std::to_string(expected));
  }
}

}  // namespace

std::shared_ptr<arrow::DataType> mtime_type() {
  return arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
}

std::shared_ptr<arrow::Schema> row_schema(const WriterOptions& options) {
  auto metadata = std::make_shared<arrow::KeyValueMetadata>();
  metadata->Append("pomona.version", POMONA_VERSION);
  metadata->Append("pomona.feature_dim", std::to_string(options.feature_dim));
  for (const auto& [key, value] : options.metadata) metadata->Append(key, value);
  for (const auto& [key, value] : options.settings) metadata->Append(key, value);
  arrow::FieldVector fields = {arrow::field("path", arrow::utf8(), /*nullable=*/false),
                               arrow::field("label", arrow::utf8()),
                               arrow::field("features", arrow::list(arrow::float32())),
                               arrow::field("error", arrow::utf8())};
  if (options.pca_dim > 0) fields.push_back(arrow::field("pca", arrow::list(arrow::float32())));
  if (options.input_identity) {
    fields.push_back(arrow::field("size", arrow::int64()));
    fields.push_back(arrow::field("mtime", mtime_type()));
  }
  return arrow::schema(std::move(fields), std::move(metadata));
}

RowBatchBuilder::RowBatchBuilder(const WriterOptions& options)
    : schema_(row_schema(options)),
      feature_dim_(options.feature_dim),
      pca_dim_(options.pca_dim),
      input_identity_(options.input_identity),
      features_(arrow::default_memory_pool(), std::make_shared<arrow::FloatBuilder>()),
      pca_(arrow::default_memory_pool(), std::make_shared<arrow::FloatBuilder>()),
      mtime_(mtime_type(), arrow::default_memory_pool()) {}

void RowBatchBuilder::append(const FeatureRow& row) {
  if (!row.error) check_length(row, row.features, feature_dim_, "features");
  if (pca_dim_ > 0 && !row.error) check_length(row, row.pca, pca_dim_, "PCA values");
  check_append(path_.Append(stored_text(row.path)));
  check_append(label_.Append(stored_text(row.label)));
  append_floats(features_, row.error ? nullptr : &row.features);
  if (row.error) {
    check_append(error_.Append(stored_text(*row.error)));
  } else {
    check_append(error_.AppendNull());
  }
  if (pca_dim_ > 0) append_floats(pca_, row.error ? nullptr : &row.pca);
  if (input_identity_) {
    check_append(size_.Append(row.size));
    check_append(mtime_.Append(row.mtime_ns));
  }
  ++rows_;
}

std::shared_ptr<arrow::RecordBatch> RowBatchBuilder::finish() {
  std::vector<std::shared_ptr<arrow::Array>> columns;
  const auto finish_column = [&columns](arrow::ArrayBuilder& builder) {
    check_append(builder.Finish(&columns.emplace_back()));
  };
  finish_column(path_);
  finish_column(label_);
  finish_column(features_);
  finish_column(error_);
  if (pca_dim_ > 0) finish_column(pca_);
  if (input_identity_) {
    finish_column(size_);
    finish_column(mtime_);
  }
  const int64_t rows = rows_;
  rows_ = 0;
  return arrow::RecordBatch::Make(schema_, rows, std::move(columns));
}

}  // namespace pomona
