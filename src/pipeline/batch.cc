#include "pomona/batch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "pomona/image.h"
#include "pomona/io.h"

namespace pomona {
namespace {

// decode -> resize -> preprocess one encoded image into `out` (size x size x 3 floats).
// Returns the row's error message, or nullopt when the input is ready for the network.
std::optional<std::string> prepare_bytes(std::span<const uint8_t> bytes, int size, bool jpeg_draft,
                                         bool exif_transpose, float* out) {
  const int draft_size = jpeg_draft ? size : 0;
  auto image = exif_transpose
                   ? decode_exif_transposed_resized_like_pillow(bytes, size, size, draft_size)
                   : decode_resized_like_pillow(bytes, size, size, draft_size);
  if (!image.ok()) return image.error();
  preprocess_keras(image.value(), out);
  return std::nullopt;
}

std::optional<std::string> prepare_input(const BatchInput& input, int size, bool jpeg_draft,
                                         bool exif_transpose, float* out) {
  if (input.bytes) return prepare_bytes(*input.bytes, size, jpeg_draft, exif_transpose, out);
  auto bytes = read_bytes(input.path);
  if (!bytes.ok()) return bytes.error();
  return prepare_bytes(bytes.value(), size, jpeg_draft, exif_transpose, out);
}

}  // namespace

ChunkFeaturizer::ChunkFeaturizer(const FeatureExtractor& extractor, bool jpeg_draft,
                                 bool exif_transpose)
    : extractor_(extractor),
      jpeg_draft_(jpeg_draft),
      exif_transpose_(exif_transpose),
      pixels_per_image_(static_cast<size_t>(extractor.spec().size) * extractor.spec().size * 3),
      input_(static_cast<size_t>(extractor.max_batch()) * pixels_per_image_),
      features_(static_cast<size_t>(extractor.max_batch()) * extractor.feature_dim()) {}

ChunkFeaturizer::~ChunkFeaturizer() = default;

std::vector<FeatureRow> ChunkFeaturizer::run(std::span<const BatchInput> inputs) {
  if (!context_) {
    set_compute_threads(1);
    context_ = extractor_.new_context();
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<FeatureRow> rows(inputs.size());
  std::vector<FeatureRow*> ready;  // rows whose image is in input_, in slot order
  for (size_t i = 0; i < inputs.size(); ++i) {
    FeatureRow& row = rows[i];
    row.path = inputs[i].path;
    row.label = inputs[i].label;
    float* slot = input_.data() + ready.size() * pixels_per_image_;
    row.error =
        prepare_input(inputs[i], extractor_.spec().size, jpeg_draft_, exif_transpose_, slot);
    if (!row.error) ready.push_back(&row);
  }
  const auto prepared = std::chrono::steady_clock::now();
  if (!ready.empty()) {
    extractor_.extract(*context_, input_.data(), static_cast<int>(ready.size()), features_.data());
    const int dim = extractor_.feature_dim();
    for (size_t k = 0; k < ready.size(); ++k) {
      const float* f = features_.data() + k * dim;
      ready[k]->features.assign(f, f + dim);
    }
  }
  last_prepare_seconds_ = std::chrono::duration<double>(prepared - start).count();
  last_network_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - prepared).count();
  return rows;
}

std::vector<FeatureRow> featurize_inputs(const FeatureExtractor& extractor,
                                         std::span<const BatchInput> inputs, int threads,
                                         bool jpeg_draft, bool exif_transpose) {
  const int64_t total = static_cast<int64_t>(inputs.size());
  const int64_t batch = extractor.max_batch();
  const int64_t chunk_count = (total + batch - 1) / batch;
  std::vector<FeatureRow> rows(inputs.size());
  std::atomic<int64_t> next_chunk{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    ChunkFeaturizer featurizer(extractor, jpeg_draft, exif_transpose);
    try {
      for (int64_t c; (c = next_chunk.fetch_add(1)) < chunk_count;) {
        const int64_t begin = c * batch;
        const int64_t end = std::min(total, begin + batch);
        std::ranges::move(featurizer.run(inputs.subspan(begin, end - begin)), rows.begin() + begin);
      }
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next_chunk = chunk_count;  // the others stop after their current chunk
    }
  };
  const int64_t helpers =
      std::min<int64_t>(std::max(1, threads), std::max<int64_t>(1, chunk_count)) - 1;
  {
    std::vector<std::jthread> pool;
    for (int64_t t = 0; t < helpers; ++t) pool.emplace_back(work);
    work();
  }
  if (failure) std::rethrow_exception(failure);
  return rows;
}

}  // namespace pomona
