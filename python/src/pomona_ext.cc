// pomona._pomona: the C++ core as a Python module. The Python package (python/pomona) wraps it.
#include <nanobind/nanobind.h>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/error.h"

NB_MODULE(_pomona, module) {
  // What stops a job in the CLI (bad weights, unreadable files) is this exception in Python.
  nanobind::exception<pomona::JobError>(module, "PomonaError", PyExc_RuntimeError);
  pomona::python::ArrowPayload::bind(module);
  pomona::python::bind_featurize(module);
  pomona::python::bind_io(module);
  pomona::python::bind_pca(module);
  pomona::python::bind_classify(module);
}
