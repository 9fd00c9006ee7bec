// table/ for the Python faces (pomona/table.h, table_arrow.h): part files laid out as the
// command's, and the manifest that publishes them. Spark tasks write their part files with it;
// the driver publishes them.
#include <arrow/api.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <utility>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/error.h"
#include "pomona/table.h"
#include "pomona/table_arrow.h"

namespace nb = nanobind;

namespace pomona::python {

void bind_table(nb::module_& module) {
  nb::class_<PartFileWriter>(module, "PartFileWriter",
                             "One Parquet file of rows laid out as the command's part files, "
                             "at uri (a path or s3://) only once published.")
      .def(
          "__init__",
          [](PartFileWriter* self, const std::string& uri) {
            new (self) PartFileWriter(uri, WriterOptions{});
          },
          nb::arg("uri"))
      .def(
          "append",
          [](PartFileWriter& self, nb::handle batch) {
            const std::shared_ptr<arrow::Array> rows = import_array(batch);
            if (rows->type_id() != arrow::Type::STRUCT) {
              throw nb::type_error("expected an Arrow record batch");
            }
            auto record_batch = arrow::RecordBatch::FromStructArray(rows);
            if (!record_batch.ok()) throw nb::type_error(record_batch.status().ToString().c_str());
            nb::gil_scoped_release no_gil;
            self.append(**record_batch);
          },
          nb::arg("batch"),
          "Appends a record batch of the row columns (path, label, features, error[, pca]).")
      .def_prop_ro("rows", &PartFileWriter::rows)
      .def(
          "publish",
          [](PartFileWriter& self) {
            nb::gil_scoped_release no_gil;
            self.publish();
          },
          "Writes the file whole under its uri (none appended: the schema only).");

  module.def(
      "read_manifest",
      [](const std::string& folder) {
        std::vector<std::pair<std::string, int64_t>> parts;
        nb::gil_scoped_release no_gil;
        for (ManifestEntry& entry : read_manifest(folder))
          parts.emplace_back(entry.file, entry.rows);
        return parts;
      },
      nb::arg("folder"), "(file, rows) of each part file folder's manifest lists; [] without one.");
  module.def(
      "publish_parts",
      [](const std::string& folder, const std::vector<std::pair<std::string, int64_t>>& parts) {
        std::vector<ManifestEntry> entries;
        for (const auto& [file, rows] : parts) entries.push_back({file, rows});
        nb::gil_scoped_release no_gil;
        publish_parts(folder, entries);
      },
      nb::arg("folder"), nb::arg("parts"),
      "Writes folder's manifest listing parts ((file, rows)), then _SUCCESS, then removes every "
      "other file under folder.");
  module.def(
      "unpublish",
      [](const std::string& folder) {
        nb::gil_scoped_release no_gil;
        unpublish(folder);
      },
      nb::arg("folder"), "Removes folder's _SUCCESS.");
}

}  // namespace pomona::python
