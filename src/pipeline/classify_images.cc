// open_index_network and classify_images (include/pomona/classify.h): the image-level engine.
#include <chrono>

#include "pomona/classify.h"
#include "pomona/error.h"
#include "pomona/pipeline.h"

namespace pomona {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

IndexNetwork open_index_network(const ClassIndex& index, const std::string& weights) {
  FeaturizeOptions options;
  options.weights = weights;
  options.spec = {index.network().alpha, index.network().size};
  // Queries run at the precision the index's features were computed at, so that an indexed image
  // queried again gives its own features.
  options.precision = parse_precision(index.network().precision);
  check_bf16_layout(index.network(), "the index");
  IndexNetwork network;
  network.identity = index.network();
  network.weights_path = resolve_weights(options);
  set_compute_threads(1);
  const KerasWeights loaded = KerasWeights::load(network.weights_path);
  const std::string& hash = loaded.sha256();
  if (hash != index.network().weights_sha256) {
    throw JobError(ExitCode::kConfiguration,
                   "weights " + network.weights_path + " (sha256 " + hash.substr(0, 12) +
                       ") are not the ones the index was built with (sha256 " +
                       index.network().weights_sha256.substr(0, 12) +
                       "): use those weights, or rebuild the index from features of these");
  }
  network.extractor =
      FeatureExtractor::create(loaded, options.spec, /*max_batch=*/1, options.precision);
  if (network.extractor->feature_dim() != index.feature_dim()) {
    throw JobError(ExitCode::kConfiguration,
                   "the network gives " + std::to_string(network.extractor->feature_dim()) +
                       " features, the index holds " + std::to_string(index.feature_dim()));
  }
  return network;
}

std::unique_ptr<ChunkFeaturizer> IndexNetwork::new_featurizer() const {
  return std::make_unique<ChunkFeaturizer>(*extractor, identity.jpeg_draft,
                                           identity.exif_transpose);
}

std::vector<ImageAnswer> classify_images(ChunkFeaturizer& featurizer, const ClassIndex& index,
                                         std::span<const BatchInput> inputs, ClassifyMethod method,
                                         int top_k) {
  std::vector<ImageAnswer> answers;
  answers.reserve(inputs.size());
  for (const BatchInput& input : inputs) {
    ImageAnswer& answer = answers.emplace_back();
    answer.path = input.path;
    FeatureRow row = std::move(featurizer.run({&input, 1}).front());
    answer.prepare_ms = 1000 * featurizer.last_prepare_seconds();
    answer.network_ms = 1000 * featurizer.last_network_seconds();
    if (row.error) {
      answer.error = std::move(row.error);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    answer.answer = index.classify(row.features, method, top_k);
    answer.classify_ms = ms_since(start);
  }
  return answers;
}

}  // namespace pomona
