// The parts of the native module pomona._pomona, one function per concern.
#pragma once

#include <nanobind/nanobind.h>

namespace pomona::python {

void bind_featurize(nanobind::module_& module);
void bind_io(nanobind::module_& module);
void bind_pca(nanobind::module_& module);
void bind_classify(nanobind::module_& module);
void bind_table(nanobind::module_& module);

}  // namespace pomona::python
