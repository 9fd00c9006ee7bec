// read_label_info (label_info.h).
#include "label_info.h"

#include <arrow/api.h>
#include <arrow/csv/api.h>
#include <parquet/arrow/reader.h>

#include <cmath>

#include "pomona/classify.h"
#include "pomona/error.h"
#include "pomona/files.h"

namespace pomona {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw JobError(ExitCode::kInputOutput,
                 "cannot read the label information " + path + ": " + reason);
}

template <typename T>
T check(arrow::Result<T> result, const std::string& path) {
  if (!result.ok()) fail(path, files::reason_of(result.status()));
  return std::move(result).ValueUnsafe();
}

std::string json_value(const arrow::Array& column, int64_t row) {
  if (column.IsNull(row)) return "null";
  const auto scalar = check(column.GetScalar(row), "");
  switch (column.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      return json_quote(static_cast<const arrow::BaseBinaryScalar&>(*scalar).view());
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanScalar&>(*scalar).value ? "true" : "false";
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE: {
      const double v = column.type_id() == arrow::Type::FLOAT
                           ? static_cast<const arrow::FloatScalar&>(*scalar).value
                           : static_cast<const arrow::DoubleScalar&>(*scalar).value;
      return std::isfinite(v) ? scalar->ToString() : "null";
    }
    default:
      return arrow::is_integer(column.type_id()) ? scalar->ToString()
                                                 : json_quote(scalar->ToString());
  }
}

}  // namespace

std::map<std::string, std::string> read_label_info(const std::string& path) {
  auto input = files::open_input_file(path);
  std::shared_ptr<arrow::Table> table;
  if (path.ends_with(".csv")) {
    auto reader =
        check(arrow::csv::TableReader::Make(
                  arrow::io::default_io_context(), input, arrow::csv::ReadOptions::Defaults(),
                  arrow::csv::ParseOptions::Defaults(), arrow::csv::ConvertOptions::Defaults()),
              path);
    table = check(reader->Read(), path);
  } else {
    auto reader = check(parquet::arrow::OpenFile(input, arrow::default_memory_pool()), path);
    table = check(reader->ReadTable(), path);
  }
  table = check(table->CombineChunks(), path);
  const auto label_column = table->GetColumnByName("label");
  if (label_column == nullptr) fail(path, "no column 'label'");
  if (table->num_rows() == 0) return {};
  const auto& labels = *label_column->chunk(0);
  if (labels.type_id() != arrow::Type::STRING && !arrow::is_integer(labels.type_id())) {
    fail(path, "column 'label' is " + labels.type()->ToString() + ", not text");
  }
  std::map<std::string, std::string> info;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    if (labels.IsNull(row)) fail(path, "row " + std::to_string(row) + " has no label");
    const std::string label = check(labels.GetScalar(row), path)->ToString();
    std::string json = "{";
    for (int c = 0; c < table->num_columns(); ++c) {
      const std::string& name = table->field(c)->name();
      if (name == "label") continue;
      if (json.size() > 1) json += ", ";
      json += json_quote(name) + ": " + json_value(*table->column(c)->chunk(0), row);
    }
    json += "}";
    if (!info.emplace(label, std::move(json)).second) {
      fail(path, "label '" + label + "' appears twice");
    }
  }
  return info;
}

}  // namespace pomona
