// pomona._pomona: the C++ core as a Python module. The Python package (python/pomona) wraps it.
#include <nanobind/nanobind.h>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/error.h"

namespace nb = nanobind;

NB_MODULE(_pomona, module) {
  // What stops a job in the CLI (bad weights, unreadable files) is this exception in Python, its
  // exit_code the CLI's (2: configuration, 3: input/output).
  // Kept for the life of the process: the translator may run until the interpreter ends.
  static PyObject* const error =
      PyErr_NewException("pomona._pomona.PomonaError", PyExc_RuntimeError, nullptr);
  module.attr("PomonaError") = nb::handle(error);
  nb::register_exception_translator([](const std::exception_ptr& thrown, void*) {
    try {
      std::rethrow_exception(thrown);
    } catch (const pomona::JobError& job_error) {
      nb::object raised = nb::handle(error)(job_error.what());
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
