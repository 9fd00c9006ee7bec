// ClassIndex::save and load (include/pomona/classify.h): one Parquet file.
//
// One row per stored vector, told apart by `kind`:
//   kind        label   path    count     vector (list<float32>)              info (JSON text)
//   "centre"    null    null    null      mu, space_dim values                null
//   "pca_axis"  null    null    null      one PCA component, feature_dim      null
//   "class"     label   null    images    sum of its references' z (float32)  its information
//   "reference" label   path    null      z, unit length, space_dim values    null
// in that order (pca_axis rows in component order, classes in label order, references in the
// order they were added). File metadata (key-value, all text): pomona.index.version ("1"),
// pomona.feature_dim, pomona.space_dim, the network's identity_settings (model.h: how the
// features were made), pomona.threshold.ncm, pomona.threshold.knn, pomona.reject_quantile,
// pomona.exact_limit, pomona.calibration_sample, pomona.loo_top1.ncm, pomona.loo_top1.knn,
// pomona.hnsw_recall.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <charconv>
#include <cstdio>
#include <map>

#include "index_state.h"
#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/io.h"

namespace pomona {
namespace {

using files::check_io;

constexpr const char* kFormatVersion = "1";

[[noreturn]] void not_an_index(const std::string& path, const std::string& reason) {
  throw JobError(ExitCode::kInputOutput, path + " is not a Pomona index: " + reason);
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

class Columns {
 public:
  Columns() : vector_(arrow::default_memory_pool(), std::make_shared<arrow::FloatBuilder>()) {}

  void add(const char* kind, const std::string* label, const std::string* path,
           std::optional<int64_t> count, const float* values, int length, const std::string* info) {
    ok(kind_.Append(kind));
    ok(label ? label_.Append(*label) : label_.AppendNull());
    ok(path ? path_.Append(*path) : path_.AppendNull());
    ok(count ? count_.Append(*count) : count_.AppendNull());
    ok(vector_.Append());
    ok(static_cast<arrow::FloatBuilder*>(vector_.value_builder())->AppendValues(values, length));
    ok(info ? info_.Append(*info) : info_.AppendNull());
  }

  std::shared_ptr<arrow::Table> finish(std::shared_ptr<arrow::KeyValueMetadata> metadata) {
    auto schema = arrow::schema(
        {arrow::field("kind", arrow::utf8(), false), arrow::field("label", arrow::utf8()),
         arrow::field("path", arrow::utf8()), arrow::field("count", arrow::int64()),
         arrow::field("vector", arrow::list(arrow::float32()), false),
         arrow::field("info", arrow::utf8())},
        metadata);
    return arrow::Table::Make(
        schema, {done(kind_), done(label_), done(path_), done(count_), done(vector_), done(info_)});
  }

 private:
  static void ok(const arrow::Status& status) { files::check_arrow(status, kBuild); }
  static std::shared_ptr<arrow::Array> done(arrow::ArrayBuilder& builder) {
    return files::check_arrow(builder.Finish(), kBuild);
  }
  static constexpr char kBuild[] = "build the index's table";
  arrow::StringBuilder kind_, label_, path_, info_;
  arrow::Int64Builder count_;
  arrow::ListBuilder vector_;
};

double parse_number(const std::map<std::string, std::string>& meta, const std::string& key,
                    const std::string& path) {
  const auto it = meta.find(key);
  if (it == meta.end()) not_an_index(path, "no metadata " + key);
  double value = 0;
  const char* end = it->second.data() + it->second.size();
  if (std::from_chars(it->second.data(), end, value).ptr != end) {
    not_an_index(path, "metadata " + key + " is not a number");
  }
  return value;
}

template <typename ArrayType>
const ArrayType& column(const arrow::Table& table, const char* name, const std::string& path) {
  const auto chunked = table.GetColumnByName(name);
  if (chunked == nullptr || chunked->num_chunks() != 1)
    not_an_index(path, std::string("no column ") + name);
  const auto* array = dynamic_cast<const ArrayType*>(chunked->chunk(0).get());
  if (array == nullptr) not_an_index(path, std::string("column ") + name + " has the wrong type");
  return *array;
}

}  // namespace

void ClassIndex::save(const std::string& path) const {
  const State& s = *state_;
  Columns columns;
  columns.add("centre", nullptr, nullptr, std::nullopt, s.centre.data(), s.space_dim, nullptr);
  for (int a = 0; a < (s.axes.empty() ? 0 : s.space_dim); ++a) {
    columns.add("pca_axis", nullptr, nullptr, std::nullopt,
                s.axes.data() + static_cast<size_t>(a) * s.feature_dim, s.feature_dim, nullptr);
  }
  std::vector<float> sum(s.space_dim);
  for (size_t c = 0; c < s.labels.size(); ++c) {
    for (int i = 0; i < s.space_dim; ++i)
      sum[i] = static_cast<float>(s.class_sums[c * s.space_dim + i]);
    columns.add("class", &s.labels[c], nullptr, s.class_counts[c], sum.data(), s.space_dim,
                &s.class_info[c]);
  }
  for (int64_t r = 0; r < s.reference_count(); ++r) {
    columns.add("reference", &s.labels[s.reference_class[r]], &s.reference_paths[r], std::nullopt,
                s.references.data() + r * s.space_dim, s.space_dim, nullptr);
  }
  std::map<std::string, std::string> meta = {
      {"pomona.index.version", kFormatVersion},
      {"pomona.feature_dim", std::to_string(s.feature_dim)},
      {"pomona.space_dim", std::to_string(s.space_dim)},
      {"pomona.threshold.ncm", number(s.stats.threshold_ncm)},
      {"pomona.threshold.knn", number(s.stats.threshold_knn)},
      {"pomona.reject_quantile", number(s.reject_quantile)},
      {"pomona.exact_limit", std::to_string(s.exact_limit)},
      {"pomona.calibration_sample", std::to_string(s.calibration_sample)},
      {"pomona.loo_top1.ncm", number(s.stats.loo_top1_ncm)},
      {"pomona.loo_top1.knn", number(s.stats.loo_top1_knn)},
      {"pomona.hnsw_recall", number(s.stats.hnsw_recall)},
  };
  meta.merge(identity_settings(s.network));
  std::vector<std::string> keys, values;
  for (const auto& [key, value] : meta) {
    keys.push_back(key);
    values.push_back(value);
  }
  auto table = columns.finish(arrow::key_value_metadata(std::move(keys), std::move(values)));
  // Written to memory first: the version is the hash of exactly these bytes.
  auto buffer = check_io(arrow::io::BufferOutputStream::Create(), "write", path);
  auto properties =
      parquet::WriterProperties::Builder().compression(parquet::Compression::ZSTD)->build();
  check_io(parquet::arrow::WriteTable(
               *table, arrow::default_memory_pool(), buffer, 64 * 1024, properties,
               parquet::ArrowWriterProperties::Builder().store_schema()->build()),
           "write", path);
  auto bytes = check_io(buffer->Finish(), "write", path);
  files::write_file_atomically(path, bytes->ToString());
  state_->version = sha256_hex({bytes->data(), static_cast<size_t>(bytes->size())}).substr(0, 16);
}

std::unique_ptr<ClassIndex> ClassIndex::load(const std::string& path) {
  auto bytes = read_bytes(path);
  if (!bytes.ok()) throw JobError(ExitCode::kInputOutput, bytes.error());
  const std::vector<uint8_t>& data = bytes.value();
  auto input = std::make_shared<arrow::io::BufferReader>(
      std::make_shared<arrow::Buffer>(data.data(), static_cast<int64_t>(data.size())));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!reader.ok()) not_an_index(path, files::reason_of(reader.status()));
  auto table =
      check_io(check_io((*reader)->ReadTable(), "read", path)->CombineChunks(), "read", path);
  std::map<std::string, std::string> meta;
  if (table->schema()->metadata()) {
    const auto& kv = *table->schema()->metadata();
    for (int64_t i = 0; i < kv.size(); ++i) meta[kv.key(i)] = kv.value(i);
  }
  if (meta["pomona.index.version"] != kFormatVersion) {
    not_an_index(path, "no pomona.index.version " + std::string(kFormatVersion) + " metadata");
  }
  auto s = std::make_unique<State>();
  s->feature_dim = static_cast<int>(parse_number(meta, "pomona.feature_dim", path));
  s->space_dim = static_cast<int>(parse_number(meta, "pomona.space_dim", path));
  Result<NetworkIdentity> network = identity_from_settings(meta);
  if (!network.ok()) not_an_index(path, network.error());
  s->network = std::move(network.value());
  s->stats.threshold_ncm = parse_number(meta, "pomona.threshold.ncm", path);
  s->stats.threshold_knn = parse_number(meta, "pomona.threshold.knn", path);
  s->reject_quantile = parse_number(meta, "pomona.reject_quantile", path);
  s->exact_limit = static_cast<int64_t>(parse_number(meta, "pomona.exact_limit", path));
  s->calibration_sample =
      static_cast<int64_t>(parse_number(meta, "pomona.calibration_sample", path));
  s->stats.loo_top1_ncm = parse_number(meta, "pomona.loo_top1.ncm", path);
  s->stats.loo_top1_knn = parse_number(meta, "pomona.loo_top1.knn", path);
  s->stats.hnsw_recall = parse_number(meta, "pomona.hnsw_recall", path);
  if (s->feature_dim <= 0 || s->space_dim <= 0 || s->space_dim > s->feature_dim) {
    not_an_index(path, "bad dimensions");
  }
  if (table->num_rows() == 0) not_an_index(path, "no rows");

  const auto& kind = column<arrow::StringArray>(*table, "kind", path);
  const auto& label = column<arrow::StringArray>(*table, "label", path);
  const auto& file = column<arrow::StringArray>(*table, "path", path);
  const auto& count = column<arrow::Int64Array>(*table, "count", path);
  const auto& vector = column<arrow::ListArray>(*table, "vector", path);
  const auto& info = column<arrow::StringArray>(*table, "info", path);
  const auto* floats = dynamic_cast<const arrow::FloatArray*>(vector.values().get());
  if (floats == nullptr) not_an_index(path, "column vector does not hold float32");
  std::map<std::string, int> class_of;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    const std::string_view k = kind.GetView(row);
    const float* values = floats->raw_values() + vector.value_offset(row);
    const int length = vector.value_length(row);
    const int want = k == "pca_axis" ? s->feature_dim : s->space_dim;
    if (length != want)
      not_an_index(path,
                   "row " + std::to_string(row) + " has a vector of " + std::to_string(length));
    if (k == "centre") {
      s->centre.assign(values, values + length);
    } else if (k == "pca_axis") {
      s->axes.insert(s->axes.end(), values, values + length);
    } else if (k == "class") {
      class_of[std::string(label.GetView(row))] = static_cast<int>(s->labels.size());
      s->labels.emplace_back(label.GetView(row));
      s->class_sums.insert(s->class_sums.end(), values, values + length);
      s->class_counts.push_back(count.Value(row));
      s->class_info.emplace_back(info.IsNull(row) ? "{}" : info.GetView(row));
    } else if (k == "reference") {
      const auto it = class_of.find(std::string(label.GetView(row)));
      if (it == class_of.end()) not_an_index(path, "a reference of an unknown class");
      s->references.insert(s->references.end(), values, values + length);
      s->reference_class.push_back(it->second);
      s->reference_paths.emplace_back(file.GetView(row));
    } else {
      not_an_index(path, "unknown row kind " + std::string(k));
    }
  }
  if (s->centre.empty() || s->labels.size() < 2 ||
      (!s->axes.empty() && s->axes.size() != size_t(s->space_dim) * s->feature_dim) ||
      (s->axes.empty() && s->space_dim != s->feature_dim)) {
    not_an_index(path, "incomplete");
  }
  s->finish();
  s->version = sha256_hex(data).substr(0, 16);
  return std::unique_ptr<ClassIndex>(new ClassIndex(std::move(s)));
}

}  // namespace pomona
