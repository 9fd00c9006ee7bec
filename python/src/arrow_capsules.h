// Arrow arrays across the Python boundary without copying buffers, through the Arrow PyCapsule
// interface (__arrow_c_array__ over the Arrow C Data Interface): pyarrow and the Arrow C++ of the
// pyarrow wheel that Pomona links share the buffers; only ownership moves.
#pragma once

#include <arrow/api.h>
#include <nanobind/nanobind.h>

#include <memory>

namespace pomona::python {

// Imports any object that has __arrow_c_array__ (pyarrow Array, RecordBatch, ...). Throws
// nb::type_error when it has none, JobError(kConfiguration) when Arrow refuses the data.
std::shared_ptr<arrow::Array> import_array(nanobind::handle object);

// An exported array or record batch: hands its data to the consumer that calls
// __arrow_c_array__ (pa.array(x), pa.record_batch(x)), once.
class ArrowPayload {
 public:
  explicit ArrowPayload(std::shared_ptr<arrow::Array> array) : array_(std::move(array)) {}
  explicit ArrowPayload(std::shared_ptr<arrow::RecordBatch> batch) : batch_(std::move(batch)) {}

  // (schema capsule, array capsule). requested_schema is ignored: the data has one type.
  nanobind::tuple arrow_c_array(nanobind::handle requested_schema) const;

  static void bind(nanobind::module_& module);

 private:
  std::shared_ptr<arrow::Array> array_;
  std::shared_ptr<arrow::RecordBatch> batch_;
};

}  // namespace pomona::python
