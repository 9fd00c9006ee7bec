// The command's listing (pomona/io.h list_inputs) for the Python faces: Spark's driver lists a
// local or shared folder with the command's rules and order and hands the tasks the paths.
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <utility>

#include "bindings.h"
#include "pomona/io.h"

namespace nb = nanobind;

namespace pomona::python {

void bind_io(nb::module_& module) {
  module.def(
      "list_inputs",
      [](const std::string& root, const std::string& globs) {
        std::vector<ObjectInfo> inputs;
        {
          nb::gil_scoped_release no_gil;
          inputs = list_inputs(root, {.globs = parse_globs(globs)});
        }
        std::vector<std::pair<std::string, int64_t>> listed;
        listed.reserve(inputs.size());
        for (ObjectInfo& input : inputs) listed.emplace_back(std::move(input.uri), input.size);
        return listed;
      },
      nb::arg("root"), nb::arg("globs"),
      "(path, size) of the files under root matching the comma-separated globs, as `pomona "
      "featurize` lists them: sorted, hidden names skipped. Raises PomonaError when root cannot "
      "be read.");
}

}  // namespace pomona::python
