// The parts of the native module pomona._pomona, one function per concern.
#pragma once

#include <nanobind/nanobind.h>

#include <string>

#include "pomona/error.h"

namespace pomona::python {

// A JobError's message in Python's words: the keyword argument that changes the setting it names
// (the CLI names its flag instead).
std::string in_python_words(const JobError& error);

void bind_featurize(nanobind::module_& module);
void bind_io(nanobind::module_& module);
void bind_pca(nanobind::module_& module);
void bind_classify(nanobind::module_& module);
void bind_table(nanobind::module_& module);

}  // namespace pomona::python
