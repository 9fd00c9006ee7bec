// read_rows (include/pomona/table.h).
#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>

#include "part_file.h"
#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/table.h"

namespace pomona {
namespace {

[[noreturn]] void throw_read_error(const std::string& file, const std::string& reason) {
  throw JobError(ExitCode::kInputOutput, "cannot read " + file + ": " + reason);
}

// The Parquet files of a features path: the file itself, or a folder's *.parquet files in name
// order, skipping names that start with "." or "_" (temp files, the manifest, _unreduced/).
std::vector<std::string> feature_files(const std::string& path) {
  if (!files::is_folder(path)) return {path};
  std::vector<std::string> files;
  for (const std::string& name : files::file_names_in(path)) {
    if (name.front() != '.' && name.front() != '_' && name.ends_with(".parquet")) {
      files.push_back(files::join_uri(path, name));
    }
  }
  return files;
}

template <typename ArrayType>
std::shared_ptr<ArrayType> column(const arrow::RecordBatch& batch, const std::string& name,
                                  const std::string& file) {
  const std::shared_ptr<arrow::Array> array = batch.GetColumnByName(name);
  if (array == nullptr) throw_read_error(file, "no column '" + name + "'");
  auto typed = std::dynamic_pointer_cast<ArrayType>(array);
  if (typed == nullptr) {
    throw_read_error(file, "column '" + name + "' has type " + array->type()->ToString());
  }
  return typed;
}

}  // namespace

namespace internal {

void append_rows_of_batch(const arrow::RecordBatch& batch, const std::string& file,
                          std::vector<FeatureRow>& rows) {
  const auto paths = column<arrow::StringArray>(batch, "path", file);
  const auto labels = column<arrow::StringArray>(batch, "label", file);
  const auto features = column<arrow::ListArray>(batch, "features", file);
  const auto errors = column<arrow::StringArray>(batch, "error", file);
  const auto values = std::dynamic_pointer_cast<arrow::FloatArray>(features->values());
  if (values == nullptr) {
    throw_read_error(file, "column 'features' has type " + features->type()->ToString());
  }
  // Optional: only resumable outputs have them.
  const auto sizes = std::dynamic_pointer_cast<arrow::Int64Array>(batch.GetColumnByName("size"));
  const auto mtimes =
      std::dynamic_pointer_cast<arrow::TimestampArray>(batch.GetColumnByName("mtime"));
  for (int64_t i = 0; i < batch.num_rows(); ++i) {
    FeatureRow& row = rows.emplace_back();
    if (sizes && sizes->IsValid(i)) row.size = sizes->Value(i);
    if (mtimes && mtimes->IsValid(i)) row.mtime_ns = mtimes->Value(i);
    row.path = original_text(paths->GetView(i));
    row.label = labels->IsNull(i) ? "" : original_text(labels->GetView(i));
    if (features->IsValid(i)) {
      const float* begin = values->raw_values() + features->value_offset(i);
      row.features.assign(begin, begin + features->value_length(i));
    }
    if (errors->IsValid(i)) row.error = original_text(errors->GetView(i));
  }
}

}  // namespace internal

namespace {

// Streams the file in record batches of at most batch_rows rows, so memory holds one batch and
// one row group, not a copy of the file.
void read_batches_of_file(const std::string& file, int64_t batch_rows,
                          const std::function<void(std::vector<FeatureRow>&)>& consume) {
  auto input = files::open_input_file(file);
  // Arrow pre-buffers every row group of the file by default: read one group at a time instead.
  parquet::ArrowReaderProperties properties;
  properties.set_pre_buffer(false);
  properties.set_batch_size(batch_rows);
  parquet::arrow::FileReaderBuilder builder;
  if (const arrow::Status status = builder.Open(input); !status.ok()) {
    throw_read_error(file, files::reason_of(status));
  }
  auto reader = files::check_io(builder.properties(properties)->Build(), "read", file);
  auto batches = files::check_io(reader->GetRecordBatchReader(), "read", file);
  std::vector<FeatureRow> rows;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch = files::check_io(batches->Next(), "read", file);
    if (batch == nullptr) break;
    rows.clear();
    internal::append_rows_of_batch(*batch, file, rows);
    consume(rows);
  }
}

}  // namespace

std::vector<FeatureRow> read_rows(const std::string& path) {
  std::vector<FeatureRow> all;
  read_row_batches(path, 64 * 1024, [&](std::vector<FeatureRow>& rows) {
    all.insert(all.end(), std::make_move_iterator(rows.begin()),
               std::make_move_iterator(rows.end()));
  });
  return all;
}

void read_row_batches(const std::string& path, int64_t batch_rows,
                      const std::function<void(std::vector<FeatureRow>&)>& consume) {
  for (const std::string& file : feature_files(path))
    read_batches_of_file(file, batch_rows, consume);
}

std::map<std::string, std::string> recorded_settings(const std::string& features) {
  const std::vector<std::string> files = feature_files(features);
  if (files.empty()) return {};
  auto reader =
      parquet::arrow::OpenFile(files::open_input_file(files.front()), arrow::default_memory_pool());
  std::shared_ptr<arrow::Schema> schema;
  if (!reader.ok() || !(*reader)->GetSchema(&schema).ok() || !schema->metadata()) return {};
  std::map<std::string, std::string> settings;
  for (int64_t i = 0; i < schema->metadata()->size(); ++i) {
    settings[schema->metadata()->key(i)] = schema->metadata()->value(i);
  }
  return settings;
}

}  // namespace pomona
