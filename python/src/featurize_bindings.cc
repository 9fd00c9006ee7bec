// pomona.featurize_batch's native half: Arrow columns in, the CLI's row schema out, over the same
// ChunkFeaturizer the featurize job runs (pomona/batch.h). One network per process and spec.
#include <arrow/api.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <tuple>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/batch.h"
#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"
#include "pomona/pipeline.h"
#include "pomona/table_arrow.h"

namespace nb = nanobind;

namespace pomona::python {
namespace {

// The network of each (weights file, alpha, size, batch, precision) this process has used: a
// Spark Python worker loads the model with its first batch and reuses it for every later task.
std::shared_ptr<const FeatureExtractor> cached_extractor(const std::string& weights,
                                                         const MobileNetV2Spec& spec, int batch,
                                                         Precision precision) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, float, int, int, Precision>,
                  std::shared_ptr<const FeatureExtractor>>
      cache;
  std::lock_guard lock(mutex);
  auto& extractor = cache[{weights, spec.alpha, spec.size, batch, precision}];
  if (!extractor) {
    extractor = FeatureExtractor::create(KerasWeights::load(weights), spec, batch, precision);
  }
  return extractor;
}

template <typename BinaryLike>
std::vector<std::optional<std::string_view>> views_of(const arrow::Array& array) {
  const auto& typed = static_cast<const BinaryLike&>(array);
  std::vector<std::optional<std::string_view>> views(array.length());
  for (int64_t i = 0; i < array.length(); ++i) {
    if (!typed.IsNull(i)) views[i] = typed.GetView(i);
  }
  return views;
}

// The elements of a string or binary column (32- or 64-bit offsets), nullopt where null. The
// views point into the array's buffers.
std::vector<std::optional<std::string_view>> views_of(const arrow::Array& array,
                                                      const char* column) {
  switch (array.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return views_of<arrow::BinaryArray>(array);
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return views_of<arrow::LargeBinaryArray>(array);
    default:
      throw nb::type_error((std::string(column) + " must be a string or binary Arrow array, not " +
                            array.type()->ToString())
                               .c_str());
  }
}

// value under the core's rule (pomona/pipeline.h), else ValueError "threads must be 0 (all cores)
// to 1024, not -1": the CLI's words, with the parameter's Python name.
int checked(const char* name, Result<int> (*rule)(int64_t), int64_t value) {
  const Result<int> result = rule(value);
  if (!result.ok()) throw nb::value_error((std::string(name) + " " + result.error()).c_str());
  return result.value();
}

// inputs: paths to read (string) or encoded images (binary); paths: the path column when inputs
// are bytes; labels: the label column, else each path's parent folder.
ArrowPayload featurize_arrays(nb::handle inputs, nb::handle paths, nb::handle labels,
                              const std::string& weights, float alpha, int size, int64_t threads,
                              int64_t batch, bool label_from_parent, bool exif_transpose,
                              const std::string& precision) {
  const int thread_count = thread_budget(checked("threads", check_threads, threads));
  const int network_batch = checked("batch", check_batch, batch);
  const auto input_array = import_array(inputs);
  const bool inputs_are_bytes = input_array->type_id() == arrow::Type::BINARY ||
                                input_array->type_id() == arrow::Type::LARGE_BINARY;
  const auto input_views = views_of(*input_array, "inputs");
  std::shared_ptr<arrow::Array> path_array, label_array;
  std::vector<std::optional<std::string_view>> path_views, label_views;
  if (!paths.is_none()) path_views = views_of(*(path_array = import_array(paths)), "paths");
  if (!labels.is_none()) label_views = views_of(*(label_array = import_array(labels)), "labels");
  const size_t n = input_views.size();
  if ((!path_views.empty() && path_views.size() != n) ||
      (!label_views.empty() && label_views.size() != n)) {
    throw nb::value_error("inputs, paths and labels must have the same length");
  }

  std::vector<BatchInput> batch_inputs(n);
  for (size_t i = 0; i < n; ++i) {
    BatchInput& input = batch_inputs[i];
    const auto& name =
        path_views.empty() ? (inputs_are_bytes ? std::nullopt : input_views[i]) : path_views[i];
    input.path = std::string(name.value_or(""));
    if (inputs_are_bytes) {
      const std::string_view bytes = input_views[i].value_or("");
      input.bytes = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }
    if (!label_views.empty()) {
      input.label = std::string(label_views[i].value_or(""));
    } else {
      input.label = label_of(input.path, label_from_parent ? LabelFrom::kParent : LabelFrom::kNone);
    }
  }

  const Precision network_precision = parse_precision(precision);
  std::shared_ptr<arrow::RecordBatch> result;
  {
    nb::gil_scoped_release no_gil;  // decoding and inference never touch Python objects
    const auto extractor =
        cached_extractor(weights, {.alpha = alpha, .size = size}, network_batch, network_precision);
    RowBatchBuilder rows({.feature_dim = extractor->feature_dim()});
    for (const FeatureRow& row : featurize_inputs(*extractor, batch_inputs, thread_count,
                                                  /*jpeg_draft=*/false, exif_transpose))
      rows.append(row);
    result = rows.finish();
  }
  return ArrowPayload(std::move(result));
}

}  // namespace

void bind_featurize(nb::module_& module) {
  module.def("featurize_arrays", &featurize_arrays, nb::arg("inputs"), nb::arg("paths").none(),
             nb::arg("labels").none(), nb::arg("weights"), nb::arg("alpha"), nb::arg("size"),
             nb::arg("threads"), nb::arg("batch"), nb::arg("label_from_parent"),
             nb::arg("exif_transpose") = false, nb::arg("precision") = "fp32",
             "Rows (path, label, features, error) for Arrow columns of paths or image bytes.");
  module.def(
      "check_threads", [](int64_t threads) { return checked("threads", check_threads, threads); },
      nb::arg("threads"), "threads if the core accepts it (0: all cores), else ValueError.");
  module.def(
      "check_batch", [](int64_t batch) { return checked("batch", check_batch, batch); },
      nb::arg("batch"), "batch if the core accepts it, else ValueError.");
  module.def("cpu_has_native_bf16", &cpu_has_native_bf16,
             "Whether precision='bf16' runs here (native AVX512-BF16 or AMX, as oneDNN sees it).");
  module.def(
      "resolve_weights",
      [](const std::string& weights, float alpha, int size) {
        FeaturizeOptions options;
        options.weights = weights;
        options.spec = {.alpha = alpha, .size = size};
        return resolve_weights(options);
      },
      nb::arg("weights"), nb::arg("alpha"), nb::arg("size"),
      "The weights file to use: `weights`, else Keras' cache for (alpha, size).");
}

}  // namespace pomona::python
