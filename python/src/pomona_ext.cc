// pomona._pomona: the C++ core as a Python module. The Python package (python/pomona) wraps it.
#include <nanobind/nanobind.h>

#include <exception>
#include <string>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/error.h"

namespace pomona::python {

std::string in_python_words(const JobError& error) {
  const char* keywords = "";
  switch (error.setting()) {
    case Setting::kNone:
    case Setting::kOverwrite:  // no Python function replaces an output
      return error.what();
    case Setting::kWeights:
      keywords = "weights=PATH";
      break;
    case Setting::kPcaK:
      keywords = "k=...";
      break;
    case Setting::kS3Credentials:
      keywords = "S3Options(profile=..., anonymous=True)";
      break;
    case Setting::kS3Location:
      keywords = "S3Options(endpoint=..., region=...)";
      break;
  }
  return std::string(error.what()) + " (" + keywords + ")";
}

}  // namespace pomona::python

NB_MODULE(_pomona, module) {
  // What stops a job in the CLI (bad weights, unreadable files) is this exception in Python, its
  // message in Python's words.
  static nanobind::exception<pomona::JobError> pomona_error(module, "PomonaError",
                                                            PyExc_RuntimeError);
  nanobind::register_exception_translator(
      [](const std::exception_ptr& thrown, void* type) {
        try {
          std::rethrow_exception(thrown);
        } catch (const pomona::JobError& error) {
          PyErr_SetString(static_cast<PyObject*>(type),
                          pomona::python::in_python_words(error).c_str());
        }
      },
      pomona_error.ptr());
  pomona::python::ArrowPayload::bind(module);
  pomona::python::bind_featurize(module);
  pomona::python::bind_io(module);
  pomona::python::bind_pca(module);
  pomona::python::bind_classify(module);
}
