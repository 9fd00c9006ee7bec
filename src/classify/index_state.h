// The inside of a ClassIndex (include/pomona/classify.h), shared by its build/query code
// (class_index.cc) and its file (index_file.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pomona/classify.h"

namespace pomona {

// The HNSW graph (hnswlib, whose 0.6 headers may be included by one file only: class_index.cc).
struct HnswGraph;

struct ClassIndex::State {
  State();
  ~State();

  NetworkIdentity network;
  int feature_dim = 0;        // length of the raw features
  int space_dim = 0;          // length after the PCA projection (feature_dim without one)
  std::vector<float> axes;    // space_dim x feature_dim, row-major: the PCA components, or empty
  std::vector<float> centre;  // space_dim: subtracted before normalising

  // References: unit vectors z in the index space, row-major, with their path and class.
  std::vector<float> references;
  std::vector<std::string> reference_paths;
  std::vector<int32_t> reference_class;

  // Classes, sorted by label: the sum of their references' z (so merging adds to it), their
  // count, their information as a JSON object.
  std::vector<std::string> labels;
  std::vector<double> class_sums;  // labels.size() x space_dim
  std::vector<int64_t> class_counts;
  std::vector<std::string> class_info;

  double reject_quantile = 0.05;
  int64_t exact_limit = 50'000;
  int64_t calibration_sample = 2'000;
  IndexStats stats;
  std::string version;

  // Derived when built or loaded (finish()): unit class means, and the HNSW graph when the
  // references exceed exact_limit.
  std::vector<float> class_means;  // labels.size() x space_dim
  std::unique_ptr<HnswGraph> hnsw;

  int64_t reference_count() const { return static_cast<int64_t>(reference_class.size()); }
  // Derives class_means and the HNSW graph from the stored fields.
  void finish();
  // Leave-one-out calibration of both thresholds and the accuracy figures of stats.
  void calibrate();
  // x (feature_dim raw values) -> z (space_dim, unit length; zero when x equals the centre).
  std::vector<float> to_space(const float* x) const;
};

}  // namespace pomona
