// pomona._pomona: the C++ core as a Python module. The Python package (python/pomona) wraps it.
#include <nanobind/nanobind.h>

#include <exception>
#include <string>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/error.h"

namespace nb = nanobind;

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
  // What stops a job in the CLI (bad weights, unreadable files) is this exception in Python: its
  // message in Python's words, its exit_code the CLI's (2: configuration, 3: input/output).
  // Kept for the life of the process: the translator may run until the interpreter ends.
  static PyObject* const error =
      PyErr_NewException("pomona._pomona.PomonaError", PyExc_RuntimeError, nullptr);
  module.attr("PomonaError") = nb::handle(error);
  nb::register_exception_translator([](const std::exception_ptr& thrown, void*) {
    try {
      std::rethrow_exception(thrown);
    } catch (const pomona::JobError& job_error) {
      const std::string message = pomona::python::in_python_words(job_error);
      nb::object raised = nb::handle(error)(message.c_str());
      raised.attr("exit_code") = static_cast<int>(job_error.code());
      PyErr_SetObject(error, raised.ptr());
    }
  });
  pomona::python::ArrowPayload::bind(module);
  pomona::python::bind_featurize(module);
  pomona::python::bind_io(module);
  pomona::python::bind_pca(module);
  pomona::python::bind_classify(module);
  pomona::python::bind_table(module);
}
