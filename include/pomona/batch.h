// pipeline/, one chunk at a time: inputs named by path or already in memory -> feature rows.
// The one implementation of read -> decode -> resize+preprocess -> extract that both the
// featurize job's workers and the Python package (and so Spark executors) run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/model.h"
#include "pomona/table.h"

namespace pomona {

// One input: its row's path and label, and its contents when the caller already has them.
struct BatchInput {
  std::string path;
  std::string label;
  // The encoded image (JPEG/PNG); nullopt = read the file at path. Not owned: the caller keeps
  // the bytes alive until the rows are returned.
  std::optional<std::span<const uint8_t>> bytes;
};

// Where the inputs of a run come from: the featurize job's listed files, or the caller's
// BatchInputs (featurize_inputs). Each input's row is made once, by ChunkFeaturizer::run, from
// what its source says of it.
class InputSource {
 public:
  virtual ~InputSource() = default;
  virtual int64_t size() const = 0;
  // The row input i becomes, before its features: its path and label (and, for a listed input,
  // its size and mtime).
  virtual FeatureRow row(int64_t i) const = 0;
  // Input i's encoded image: bytes already in memory, or read into `buffer`; or the one-line
  // error its row gets. Called at most once per input, from several threads at once.
  virtual Result<std::span<const uint8_t>> bytes(int64_t i, std::vector<uint8_t>& buffer) = 0;
  // The run ends early: a bytes() call waiting for an input returns an error at once.
  virtual void cancel() {}
};

// Featurizes consecutive inputs with its own single-threaded network context. Not thread-safe:
// one per thread, many per extractor. The context is made on the first run(), on the calling
// thread, which then uses one oneDNN thread (one network per core beats one network per job at
// small batches: its activations stay in cache).
class ChunkFeaturizer {
 public:
  // extractor must outlive this object. jpeg_draft: decode JPEGs at reduced scale in the DCT
  // domain as Pillow's Image.draft does (opt-in speed; features then equal Pillow's draft path,
  // not the notebook's default). exif_transpose: apply the EXIF orientation first, as Pillow's
  // ImageOps.exif_transpose (decode_exif_transposed_resized_like_pillow in image.h).
  explicit ChunkFeaturizer(const FeatureExtractor& extractor, bool jpeg_draft = false,
                           bool exif_transpose = false);
  ~ChunkFeaturizer();

  // Requires inputs.size() <= extractor.max_batch(). Returns one row per input, in order: its
  // features, or the error that the read or decode gave (never throws for a bad input).
  std::vector<FeatureRow> run(std::span<const BatchInput> inputs);
  // The same for inputs [begin, end) of source (end - begin <= extractor.max_batch()).
  std::vector<FeatureRow> run(InputSource& source, int64_t begin, int64_t end);

  // Seconds the last run() spent preparing its inputs (read, decode, resize, preprocess) and in
  // the network.
  double last_prepare_seconds() const { return last_prepare_seconds_; }
  double last_network_seconds() const { return last_network_seconds_; }

 private:
  const FeatureExtractor& extractor_;
  const bool jpeg_draft_;
  const bool exif_transpose_;
  const size_t pixels_per_image_;
  std::unique_ptr<FeatureExtractor::Context> context_;
  std::vector<float> input_;
  std::vector<float> features_;
  double last_prepare_seconds_ = 0;
  double last_network_seconds_ = 0;
};

// Featurizes all inputs on up to `threads` worker threads, each running a ChunkFeaturizer over
// the next extractor.max_batch() inputs (the featurize job's pool). Returns one row per input, in
// input order. Memory holds every row: callers bound it by the number of inputs they pass.
std::vector<FeatureRow> featurize_inputs(const FeatureExtractor& extractor,
                                         std::span<const BatchInput> inputs, int threads,
                                         bool jpeg_draft = false, bool exif_transpose = false);

}  // namespace pomona
