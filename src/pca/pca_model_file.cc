// PcaModel::save and load (include/pomona/pca.h): one Parquet file holding one row.
#include <arrow/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/pca.h"

namespace pomona {
namespace {

using files::check_io;

constexpr int32_t kModelVersion = 1;
constexpr char kBuild[] = "build the PCA model's table";

std::shared_ptr<arrow::Array> double_list(const std::vector<double>& values, size_t length) {
  arrow::ListBuilder builder(arrow::default_memory_pool(),
                             std::make_shared<arrow::DoubleBuilder>());
  auto* doubles = static_cast<arrow::DoubleBuilder*>(builder.value_builder());
  for (size_t begin = 0; begin < values.size(); begin += length) {
    files::check_arrow(builder.Append(), kBuild);
    files::check_arrow(doubles->AppendValues(values.data() + begin, length), kBuild);
  }
  return files::check_arrow(builder.Finish(), kBuild);
}

// A list<...> array of `lists` lists wrapped into a one-row list<list<...>>.
std::shared_ptr<arrow::Array> one_row_of(const std::shared_ptr<arrow::Array>& lists) {
  auto offsets = arrow::Int32Array(
      2, arrow::Buffer::FromVector(std::vector<int32_t>{0, static_cast<int32_t>(lists->length())}));
  return files::check_arrow(arrow::ListArray::FromArrays(offsets, *lists), kBuild);
}

template <typename Scalar, typename Value>
std::shared_ptr<arrow::Array> one_value(const Value& value) {
  typename arrow::TypeTraits<Scalar>::BuilderType builder;
  files::check_arrow(builder.Append(value), kBuild);
  return files::check_arrow(builder.Finish(), kBuild);
}

[[noreturn]] void throw_not_a_model(const std::string& path, const std::string& reason) {
  throw JobError(ExitCode::kInputOutput, path + " is not a Pomona PCA model: " + reason);
}

template <typename ArrayType>
const ArrayType& column(const arrow::Table& table, const std::string& name,
                        const std::string& path) {
  const auto chunked = table.GetColumnByName(name);
  if (chunked == nullptr || chunked->num_chunks() != 1 || chunked->length() != 1) {
    throw_not_a_model(path, "no single-row column '" + name + "'");
  }
  const auto* array = dynamic_cast<const ArrayType*>(chunked->chunk(0).get());
  if (array == nullptr) throw_not_a_model(path, "column '" + name + "' has the wrong type");
  return *array;
}

// The doubles of the lists in `lists` (a list<double> array), concatenated; each list must hold
// `length` values.
std::vector<double> doubles_of(const arrow::ListArray& lists, int64_t length,
                               const std::string& path) {
  const auto* values = dynamic_cast<const arrow::DoubleArray*>(lists.values().get());
  if (values == nullptr) throw_not_a_model(path, "a list does not hold doubles");
  std::vector<double> out;
  out.reserve(lists.length() * length);
  for (int64_t i = 0; i < lists.length(); ++i) {
    if (lists.IsNull(i) || lists.value_length(i) != length) {
      throw_not_a_model(path, "a list does not have " + std::to_string(length) + " values");
    }
    const double* begin = values->raw_values() + lists.value_offset(i);
    out.insert(out.end(), begin, begin + length);
  }
  return out;
}

}  // namespace

void PcaModel::save(const std::string& path) const {
  const auto double_list_type = arrow::list(arrow::float64());
  auto schema = arrow::schema({
      arrow::field("version", arrow::int32(), false),
      arrow::field("n", arrow::int64(), false),
      arrow::field("dim", arrow::int32(), false),
      arrow::field("k", arrow::int32(), false),
      arrow::field("center", arrow::boolean(), false),
      arrow::field("mean", double_list_type, false),
      arrow::field("components", arrow::list(double_list_type), false),
      arrow::field("eigenvalues", double_list_type, false),
      arrow::field("explained_variance_ratio", double_list_type, false),
      arrow::field("accumulator", arrow::binary(), false),
  });
  const std::string state = accumulator_.serialize();
  arrow::BinaryBuilder state_builder;
  files::check_arrow(state_builder.Append(state), kBuild);
  auto table = arrow::Table::Make(
      schema, {one_value<arrow::Int32Type>(kModelVersion), one_value<arrow::Int64Type>(count_),
               one_value<arrow::Int32Type>(dim_), one_value<arrow::Int32Type>(k_),
               one_value<arrow::BooleanType>(center_), double_list(mean_, dim_),
               one_row_of(double_list(components_, dim_)), double_list(eigenvalues_, dim_),
               double_list(explained_variance_ratio_, dim_),
               files::check_arrow(state_builder.Finish(), kBuild)});

  // Published atomically (a local rename, or a completed S3 upload): no reader sees half a model.
  files::AtomicFile file(path);
  check_io(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), file.stream(), 1),
           "write", path);
  file.publish();
}

PcaModel PcaModel::load(const std::string& path) {
  auto input = files::open_input_file(path);
  auto reader =
      check_io(parquet::arrow::OpenFile(input, arrow::default_memory_pool()), "read", path);
  auto table = check_io(check_io(reader->ReadTable(), "read", path)->CombineChunks(), "read", path);

  const int32_t version = column<arrow::Int32Array>(*table, "version", path).Value(0);
  if (version != kModelVersion)
    throw_not_a_model(path, "unknown version " + std::to_string(version));
  PcaModel model;
  model.count_ = column<arrow::Int64Array>(*table, "n", path).Value(0);
  model.dim_ = column<arrow::Int32Array>(*table, "dim", path).Value(0);
  model.k_ = column<arrow::Int32Array>(*table, "k", path).Value(0);
  model.center_ = column<arrow::BooleanArray>(*table, "center", path).Value(0);
  if (model.dim_ <= 0 || model.k_ <= 0 || model.k_ > model.dim_) {
    throw_not_a_model(path, "bad dim or k");
  }
  model.mean_ = doubles_of(column<arrow::ListArray>(*table, "mean", path), model.dim_, path);
  const auto& components = column<arrow::ListArray>(*table, "components", path);
  const auto rows = std::dynamic_pointer_cast<arrow::ListArray>(components.values());
  if (rows == nullptr || components.value_length(0) != model.k_) {
    throw_not_a_model(path, "components is not " + std::to_string(model.k_) + " lists");
  }
  model.components_ = doubles_of(*rows, model.dim_, path);
  model.eigenvalues_ =
      doubles_of(column<arrow::ListArray>(*table, "eigenvalues", path), model.dim_, path);
  model.explained_variance_ratio_ = doubles_of(
      column<arrow::ListArray>(*table, "explained_variance_ratio", path), model.dim_, path);
  model.accumulator_ = PcaAccumulator::deserialize(
      column<arrow::BinaryArray>(*table, "accumulator", path).GetView(0));
  return model;
}

}  // namespace pomona
