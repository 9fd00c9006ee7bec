// pomona.Classifier's native half: the index, its network and one ChunkFeaturizer
// (pomona/classify.h), answering images given by path or as bytes.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <mutex>

#include "bindings.h"
#include "pomona/classify.h"

namespace nb = nanobind;

namespace pomona::python {
namespace {

class NativeClassifier {
 public:
  NativeClassifier(const std::string& index, const std::string& weights)
      : index_(ClassIndex::load(index)),
        network_(open_index_network(*index_, weights)),
        featurizer_(network_.new_featurizer()) {}

  // inputs: str paths or bytes. Returns, per input, (path, error or None, [(label, score,
  // info_json)], unknown).
  nb::list classify(nb::list inputs, int top_k, const std::string& method) {
    if (top_k < 1) throw nb::value_error("top_k must be >= 1");
    if (method != "ncm" && method != "knn") throw nb::value_error("method must be 'ncm' or 'knn'");
    std::vector<std::string> owned(inputs.size());  // keeps bytes alive without the GIL
    std::vector<BatchInput> batch(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      nb::handle item = inputs[i];
      if (nb::isinstance<nb::str>(item)) {
        batch[i].path = nb::cast<std::string>(item);
      } else if (nb::isinstance<nb::bytes>(item)) {
        const auto bytes = nb::cast<nb::bytes>(item);
        owned[i].assign(bytes.c_str(), bytes.size());
        batch[i].bytes =
            std::span(reinterpret_cast<const uint8_t*>(owned[i].data()), owned[i].size());
      } else {
        throw nb::type_error("inputs must be str (paths) or bytes (image contents)");
      }
    }
    std::vector<ImageAnswer> answers;
    {
      nb::gil_scoped_release no_gil;
      std::lock_guard lock(mutex_);  // one featurizer: calls from several Python threads queue
      answers = classify_images(
          *featurizer_, *index_, batch,
          method == "knn" ? ClassifyMethod::kNearestNeighbours : ClassifyMethod::kNearestClassMean,
          top_k);
    }
    nb::list out;
    for (const ImageAnswer& a : answers) {
      nb::list predictions;
      for (const Prediction& p : a.answer.predictions) {
        predictions.append(nb::make_tuple(p.label, p.score, p.info_json));
      }
      out.append(nb::make_tuple(a.path, a.error ? nb::cast(*a.error) : nb::none(), predictions,
                                a.answer.unknown));
    }
    return out;
  }

  const ClassIndex& index() const { return *index_; }
  const std::string& weights_path() const { return network_.weights_path; }

 private:
  std::unique_ptr<ClassIndex> index_;
  IndexNetwork network_;
  std::unique_ptr<ChunkFeaturizer> featurizer_;
  std::mutex mutex_;
};

}  // namespace

void bind_classify(nb::module_& module) {
  nb::class_<NativeClassifier>(module, "Classifier")
      .def(nb::init<const std::string&, const std::string&>(), nb::arg("index"), nb::arg("weights"))
      .def("classify", &NativeClassifier::classify, nb::arg("inputs"), nb::arg("top_k"),
           nb::arg("method"))
      .def_prop_ro("index_version", [](const NativeClassifier& c) { return c.index().version(); })
      .def_prop_ro("labels", [](const NativeClassifier& c) { return c.index().labels(); })
      .def_prop_ro("weights", &NativeClassifier::weights_path)
      .def_prop_ro("thresholds", [](const NativeClassifier& c) {
        return nb::make_tuple(c.index().stats().threshold_ncm, c.index().stats().threshold_knn);
      });
}

}  // namespace pomona::python
