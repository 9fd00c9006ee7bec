// pipeline/: the only place that knows the order of the stages:
// list -> read -> decode -> resize+preprocess -> infer (batched) -> write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pomona/io.h"
#include "pomona/model.h"

namespace pomona {

struct FeaturizeOptions {
  std::string input;   // folder (listed recursively) or one image file
  std::string output;  // .parquet file or folder of part files
  ListOptions list;
  LabelFrom label_from = LabelFrom::kParent;
  std::string weights;  // Keras weights file; "" = Keras' cache for spec
  MobileNetV2Spec spec;
  int threads = 0;  // total thread budget; 0 = all cores
  int batch = 4;    // images per network call
  int64_t rows_per_file = 100'000;
};

struct Summary {
  int64_t images = 0;  // rows written
  int64_t errors = 0;  // rows with an error
  double seconds = 0;  // wall time from listing to commit
  std::string weights;
  std::vector<std::string> files;  // published output files
  std::vector<std::string> first_errors;  // "path: error" of the first few error rows
};

// Receives progress from featurize(), always on the thread that called featurize().
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  virtual void on_start(int64_t total_images) {}
  virtual void on_progress(int64_t done, int64_t errors) {}
};

// Runs the whole job. Rows come out in listing order; a bad image is a row with an error.
// Throws JobError when the job cannot go on (no input, bad weights, unwritable output); then no
// output is published. Memory is bounded by the batch size and thread count, not by the number of
// images.
Summary featurize(const FeaturizeOptions& options, ProgressListener* listener = nullptr);

// The weights file featurize() uses for options: options.weights, else Keras' cache. Throws
// JobError(kConfiguration) saying how to get the file when there is none.
std::string resolve_weights(const FeaturizeOptions& options);

}  // namespace pomona
