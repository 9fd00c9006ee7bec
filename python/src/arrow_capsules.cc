#include "arrow_capsules.h"

#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>

#include "pomona/error.h"

namespace nb = nanobind;

namespace pomona::python {
namespace {

constexpr char kSchemaCapsule[] = "arrow_schema";
constexpr char kArrayCapsule[] = "arrow_array";

template <typename T>
T checked(arrow::Result<T> result, const char* what) {
  if (!result.ok()) {
    throw JobError(ExitCode::kConfiguration, std::string(what) + ": " + result.status().ToString());
  }
  return std::move(result).ValueUnsafe();
}

void check(const arrow::Status& status, const char* what) {
  if (!status.ok())
    throw JobError(ExitCode::kConfiguration, std::string(what) + ": " + status.ToString());
}

// Capsule destructors: release what the consumer did not move out (release still set).
void release_schema(void* pointer) noexcept {
  auto* schema = static_cast<ArrowSchema*>(pointer);
  if (schema->release) schema->release(schema);
  delete schema;
}

void release_array(void* pointer) noexcept {
  auto* array = static_cast<ArrowArray*>(pointer);
  if (array->release) array->release(array);
  delete array;
}

template <typename T>
T* capsule_pointer(nb::handle capsule, const char* name) {
  void* pointer = PyCapsule_GetPointer(capsule.ptr(), name);
  if (!pointer) throw nb::python_error();
  return static_cast<T*>(pointer);
}

}  // namespace

std::shared_ptr<arrow::Array> import_array(nb::handle object) {
  if (!nb::hasattr(object, "__arrow_c_array__")) {
    throw nb::type_error("expected an Arrow array (an object with __arrow_c_array__)");
  }
  nb::tuple capsules = nb::borrow<nb::tuple>(object.attr("__arrow_c_array__")());
  auto* schema = capsule_pointer<ArrowSchema>(capsules[0], kSchemaCapsule);
  auto* array = capsule_pointer<ArrowArray>(capsules[1], kArrayCapsule);
  // Moves both structs' ownership here; the producer's capsules then only free the shells.
  return checked(arrow::ImportArray(array, schema), "cannot import Arrow array");
}

nb::tuple ArrowPayload::arrow_c_array(nb::handle /*requested_schema*/) const {
  auto schema = std::make_unique<ArrowSchema>();
  auto array = std::make_unique<ArrowArray>();
  if (batch_) {
    check(arrow::ExportRecordBatch(*batch_, array.get(), schema.get()),
          "cannot export record batch");
  } else {
    check(arrow::ExportArray(*array_, array.get(), schema.get()), "cannot export array");
  }
  nb::capsule schema_capsule(schema.release(), kSchemaCapsule, release_schema);
  nb::capsule array_capsule(array.release(), kArrayCapsule, release_array);
  return nb::make_tuple(schema_capsule, array_capsule);
}

void ArrowPayload::bind(nb::module_& module) {
  nb::class_<ArrowPayload>(
      module, "ArrowPayload",
      "Arrow data made by Pomona; read it with pa.array() or pa.record_batch().")
      .def("__arrow_c_array__", &ArrowPayload::arrow_c_array,
           nb::arg("requested_schema") = nb::none());
}

}  // namespace pomona::python
