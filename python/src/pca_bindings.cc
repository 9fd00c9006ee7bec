// pomona.PCA's native half: the C++ accumulator and model of pomona/pca.h over Arrow list columns.
#include <arrow/api.h>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <cstring>
#include <span>
#include <vector>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/error.h"
#include "pomona/pca.h"
#include "pomona/table.h"

namespace nb = nanobind;

namespace pomona::python {
namespace {

// The non-null rows of a list<float32> column (list, large_list or fixed_size_list), packed and
// checked by FeatureBlock (pomona/table.h), each named by its row number.
struct FeatureMatrix {
  explicit FeatureMatrix(int dim) : block("", dim) {}
  FeatureBlock block;
  std::vector<bool> present;  // per input row: not null, so one of block's rows
};

template <typename ListLike>
FeatureMatrix matrix_of(const ListLike& lists, int dim) {
  if (lists.value_type()->id() != arrow::Type::FLOAT) {
    throw nb::type_error(
        ("features must be lists of float32, not " + lists.type()->ToString()).c_str());
  }
  const auto& floats = static_cast<const arrow::FloatArray&>(*lists.values());
  FeatureMatrix matrix(dim);
  matrix.present.resize(lists.length());
  for (int64_t i = 0; i < lists.length(); ++i) {
    if (lists.IsNull(i)) continue;
    matrix.block.add(std::to_string(i), std::span(floats.raw_values() + lists.value_offset(i),
                                                  static_cast<size_t>(lists.value_length(i))));
    matrix.present[i] = true;
  }
  return matrix;
}

FeatureMatrix matrix_of(nb::handle features, int dim) {
  const auto array = import_array(features);
  switch (array->type_id()) {
    case arrow::Type::LIST:
      return matrix_of(static_cast<const arrow::ListArray&>(*array), dim);
    case arrow::Type::LARGE_LIST:
      return matrix_of(static_cast<const arrow::LargeListArray&>(*array), dim);
    case arrow::Type::FIXED_SIZE_LIST:
      return matrix_of(static_cast<const arrow::FixedSizeListArray&>(*array), dim);
    default:
      throw nb::type_error(
          ("features must be an Arrow list array, not " + array->type()->ToString()).c_str());
  }
}

template <typename T>
T checked(arrow::Result<T> result) {
  if (!result.ok())
    throw JobError(ExitCode::kInputOutput,
                   "cannot build projections: " + result.status().ToString());
  return std::move(result).ValueUnsafe();
}

void check(const arrow::Status& status) {
  if (!status.ok())
    throw JobError(ExitCode::kInputOutput, "cannot build projections: " + status.ToString());
}

// list<float32> of k values per present row, null where the input row was null.
ArrowPayload transform(const PcaModel& model, nb::handle features) {
  FeatureMatrix matrix = matrix_of(features, model.dim());
  const FeatureBlock& block = matrix.block;
  std::vector<float> projected(static_cast<size_t>(block.rows()) * model.k());
  {
    nb::gil_scoped_release no_gil;
    model.transform(block.values(), block.rows(), projected);
  }
  auto values = std::make_shared<arrow::FloatBuilder>();
  arrow::ListBuilder lists(arrow::default_memory_pool(), values);
  const float* next = projected.data();
  for (bool present : matrix.present) {
    if (!present) {
      check(lists.AppendNull());
      continue;
    }
    check(lists.Append());
    check(values->AppendValues(next, model.k()));
    next += model.k();
  }
  return ArrowPayload(checked(lists.Finish()));
}

// A copy of values as a numpy array of the given shape (the model keeps its own).
nb::object to_numpy(const std::vector<double>& values, std::initializer_list<size_t> shape) {
  auto* copy = new std::vector<double>(values);
  nb::capsule owner(copy, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
  return nb::ndarray<nb::numpy, const double>(copy->data(), shape, owner).cast();
}

}  // namespace

void bind_pca(nb::module_& module) {
  module.def(
      "check_fit_options",
      [](int k, double variance) {
        try {
          check_fit_options({.k = k, .variance = variance});
        } catch (const JobError& error) {
          throw nb::value_error(in_python_words(error).c_str());
        }
      },
      nb::arg("k"), nb::arg("variance"),
      "Raises ValueError unless exactly one of k > 0 or 0 < variance <= 1 (PcaModel.fit's rule).");
  nb::class_<PcaAccumulator>(module, "PcaAccumulator",
                             "n, mean and scatter of feature rows, mergeable (pomona/pca.h).")
      .def(nb::init<int>(), nb::arg("dim"))
      .def_prop_ro("dim", &PcaAccumulator::dim)
      .def_prop_ro("count", &PcaAccumulator::count)
      .def_prop_ro(
          "mean",
          [](const PcaAccumulator& self) { return to_numpy(self.mean(), {size_t(self.dim())}); })
      .def(
          "add",
          [](PcaAccumulator& self, nb::handle features) {
            FeatureMatrix matrix = matrix_of(features, self.dim());
            nb::gil_scoped_release no_gil;
            self.add_rows(matrix.block.values(), matrix.block.rows());
          },
          nb::arg("features"), "Adds the non-null rows of an Arrow list<float32> column.")
      .def("merge", &PcaAccumulator::merge, nb::arg("other"))
      .def("serialize",
           [](const PcaAccumulator& self) {
             const std::string bytes = self.serialize();
             return nb::bytes(bytes.data(), bytes.size());
           })
      .def_static("deserialize", [](nb::bytes bytes) {
        return PcaAccumulator::deserialize(std::string_view(bytes.c_str(), bytes.size()));
      });

  nb::class_<PcaModel>(module, "PcaModel",
                       "A fitted PCA (pomona/pca.h), saved as one Parquet file.")
      .def_static(
          "fit",
          [](const PcaAccumulator& accumulator, int k, double variance, bool center) {
            nb::gil_scoped_release no_gil;
            return PcaModel::fit(accumulator, {.k = k, .variance = variance, .center = center});
          },
          nb::arg("accumulator"), nb::arg("k") = 0, nb::arg("variance") = 0.0,
          nb::arg("center") = false)
      .def_static("load", &PcaModel::load, nb::arg("path"))
      .def(
          "save",
          [](const PcaModel& model, const std::string& path) {
            nb::gil_scoped_release no_gil;  // an s3:// path waits on the network
            model.save(path);
          },
          nb::arg("path"))
      .def_prop_ro("k", &PcaModel::k)
      .def_prop_ro("dim", &PcaModel::dim)
      .def_prop_ro("count", &PcaModel::count)
      .def_prop_ro("center", &PcaModel::center)
      .def_prop_ro("mean",
                   [](const PcaModel& self) { return to_numpy(self.mean(), {size_t(self.dim())}); })
      .def_prop_ro("components",
                   [](const PcaModel& self) {
                     return to_numpy(self.components(), {size_t(self.k()), size_t(self.dim())});
                   })
      .def_prop_ro(
          "eigenvalues",
          [](const PcaModel& self) { return to_numpy(self.eigenvalues(), {size_t(self.dim())}); })
      .def_prop_ro("explained_variance_ratio",
                   [](const PcaModel& self) {
                     return to_numpy(self.explained_variance_ratio(), {size_t(self.dim())});
                   })
      .def_prop_ro("accumulator", [](const PcaModel& self) { return self.accumulator(); })
      .def("transform", &transform, nb::arg("features"),
           "Projections (list<float32> of k values) of an Arrow list<float32> column; nulls stay "
           "null.");
}

}  // namespace pomona::python
