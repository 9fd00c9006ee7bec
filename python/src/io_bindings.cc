// io/ for the Python faces (pomona/io.h): the command's listing, its S3 settings, its fail-fast
// check of an output, and its self-sizing read-ahead. Spark's driver lists with the command's
// rules and order; its tasks fetch objects through the same read-ahead as the command.
#include <arrow/api.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <utility>

#include "arrow_capsules.h"
#include "bindings.h"
#include "pomona/io.h"

namespace nb = nanobind;

namespace pomona::python {
namespace {

// `with using_s3(options):` makes the calls inside reach s3:// URIs with options (S3OptionsScope).
class UsingS3 {
 public:
  explicit UsingS3(std::optional<S3Options> options) : options_(std::move(options)) {}
  void enter() {
    if (options_) scope_.emplace(*options_);
  }
  void exit() { scope_.reset(); }

 private:
  std::optional<S3Options> options_;
  std::optional<S3OptionsScope> scope_;
};

// A ReadAhead over inputs it owns, each taken once, in order, a slice at a time.
class ReadAheadOf {
 public:
  ReadAheadOf(std::vector<ObjectInfo> inputs, int max_threads, int64_t max_bytes_ahead)
      : inputs_(std::move(inputs)),
        // The reads run on the read-ahead's threads, with the settings of the caller's thread.
        read_ahead_(
            std::make_unique<ReadAhead>(inputs_, max_threads, max_bytes_ahead,
                                        [s3 = S3OptionsScope::current()](const ObjectInfo& input) {
                                          S3OptionsScope scope(s3);
                                          return read_bytes(input);
                                        })) {}
  // Waits for the reads in flight without the GIL: the store may be Python in this process.
  ~ReadAheadOf() {
    nb::gil_scoped_release no_gil;
    read_ahead_.reset();
  }

  // (binary array of the next `count` inputs' bytes, empty where unread; the read error of
  // each, None where read).
  std::pair<ArrowPayload, std::vector<std::optional<std::string>>> take(int64_t count) {
    arrow::BinaryBuilder bytes;
    std::vector<std::optional<std::string>> errors;
    {
      nb::gil_scoped_release no_gil;
      const int64_t end = std::min<int64_t>(next_ + count, inputs_.size());
      for (; next_ < end; ++next_) {
        Result<std::vector<uint8_t>> read = read_ahead_->take(next_);
        const arrow::Status status =
            read.ok() ? bytes.Append(read.value().data(), static_cast<int64_t>(read.value().size()))
                      : bytes.Append("", 0);
        if (!status.ok()) throw std::bad_alloc();
        errors.push_back(read.ok() ? std::nullopt : std::optional<std::string>(read.error()));
      }
    }
    std::shared_ptr<arrow::Array> array;
    if (!bytes.Finish(&array).ok()) throw std::bad_alloc();
    return {ArrowPayload(std::move(array)), std::move(errors)};
  }

  int concurrency() { return read_ahead_->concurrency(); }

 private:
  const std::vector<ObjectInfo> inputs_;
  std::unique_ptr<ReadAhead> read_ahead_;
  int64_t next_ = 0;
};

}  // namespace

void bind_io(nb::module_& module) {
  nb::class_<S3Options>(module, "S3Options",
                        "How s3:// URIs are reached, as the command's --s3-* options: endpoint, "
                        "region, profile, anonymous, retries (after the first attempt, with "
                        "backoff), connect_timeout_s, request_timeout_s. Picklable.")
      .def(
          "__init__",
          [](S3Options* self, std::optional<std::string> endpoint,
             std::optional<std::string> region, std::optional<std::string> profile, bool anonymous,
             int retries, double connect_timeout_s, double request_timeout_s) {
            new (self) S3Options{.endpoint = endpoint.value_or(""),
                                 .region = region.value_or(""),
                                 .profile = profile.value_or(""),
                                 .anonymous = anonymous,
                                 .retries = retries,
                                 .connect_timeout_s = connect_timeout_s,
                                 .request_timeout_s = request_timeout_s};
          },
          nb::arg("endpoint").none() = nb::none(), nb::arg("region").none() = nb::none(),
          nb::arg("profile").none() = nb::none(), nb::arg("anonymous") = S3Options{}.anonymous,
          nb::arg("retries") = S3Options{}.retries,
          nb::arg("connect_timeout_s") = S3Options{}.connect_timeout_s,
          nb::arg("request_timeout_s") = S3Options{}.request_timeout_s)
      .def_rw("endpoint", &S3Options::endpoint)
      .def_rw("region", &S3Options::region)
      .def_rw("profile", &S3Options::profile)
      .def_rw("anonymous", &S3Options::anonymous)
      .def_rw("retries", &S3Options::retries)
      .def_rw("connect_timeout_s", &S3Options::connect_timeout_s)
      .def_rw("request_timeout_s", &S3Options::request_timeout_s)
      .def("__getstate__",
           [](const S3Options& o) {
             return nb::make_tuple(o.endpoint, o.region, o.profile, o.anonymous, o.retries,
                                   o.connect_timeout_s, o.request_timeout_s);
           })
      .def("__setstate__",
           [](S3Options* self, const std::tuple<std::string, std::string, std::string, bool, int,
                                                double, double>& s) {
             new (self) S3Options{std::get<0>(s), std::get<1>(s), std::get<2>(s), std::get<3>(s),
                                  std::get<4>(s), std::get<5>(s), std::get<6>(s)};
           });

  nb::class_<UsingS3>(module, "using_s3",
                      "Context manager: the calls inside reach s3:// URIs with these S3Options "
                      "(None: the process's), on this thread.")
      .def(nb::init<std::optional<S3Options>>(), nb::arg("options").none())
      .def("__enter__", [](UsingS3& self) { self.enter(); })
      .def("__exit__", [](UsingS3& self, nb::args) { self.exit(); });

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
      "(path, size) of the files under root (a folder or an s3:// prefix) matching the "
      "comma-separated globs, as `pomona featurize` lists them: sorted, hidden names skipped. "
      "Raises PomonaError when root cannot be read.");

  module.def(
      "check_writable",
      [](const std::string& folder) {
        nb::gil_scoped_release no_gil;
        check_writable(folder);
      },
      nb::arg("folder"),
      "Raises PomonaError unless files can be written and removed in folder (a local folder is "
      "created; on S3 a probe object is put and deleted).");

  module.def(
      "read_bytes",
      [](const std::string& uri) {
        Result<std::vector<uint8_t>> read = [&] {
          nb::gil_scoped_release no_gil;
          return read_bytes(uri);
        }();
        if (!read.ok()) throw JobError(ExitCode::kInputOutput, read.error());
        return nb::bytes(read.value().data(), read.value().size());
      },
      nb::arg("uri"), "The bytes of a file or S3 object; PomonaError when it cannot be read.");

  nb::class_<ReadAheadOf>(module, "ReadAhead",
                          "The command's read-ahead over listed (uri, size) inputs: up to "
                          "max_threads reads in flight, as many as the latency needs, at most "
                          "max_bytes_ahead bytes not yet taken. Reads with the S3 settings of "
                          "the thread that makes it (using_s3).")
      .def(
          "__init__",
          [](ReadAheadOf* self, const std::vector<std::string>& uris,
             const std::vector<int64_t>& sizes, int max_threads, int64_t max_bytes_ahead) {
            if (uris.size() != sizes.size())
              throw nb::value_error("uris and sizes differ in length");
            if (max_threads < 1) throw nb::value_error("max_threads must be at least 1");
            std::vector<ObjectInfo> inputs(uris.size());
            for (size_t i = 0; i < uris.size(); ++i) inputs[i] = {.uri = uris[i], .size = sizes[i]};
            new (self) ReadAheadOf(std::move(inputs), max_threads, max_bytes_ahead);
          },
          nb::arg("uris"), nb::arg("sizes"), nb::arg("max_threads"), nb::arg("max_bytes_ahead"))
      .def("take", &ReadAheadOf::take, nb::arg("count"),
           "(binary array of the next count inputs' bytes, their read errors or None)")
      .def_prop_ro("concurrency", &ReadAheadOf::concurrency);
  module.attr("READ_AHEAD_MAX_THREADS") = ReadAhead::kDefaultMaxThreads;
}

}  // namespace pomona::python
