// Leave-one-out nearest-neighbour label agreement: how often the closest other point has the same
// label. A quick measure of how well the labels separate in a (reduced) feature space.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace pomona::report {

struct NeighbourAgreement {
  int64_t rows = 0;     // points compared
  int64_t matches = 0;  // points whose nearest other point has the same label
  // Expected matches if each point's neighbour were another point drawn at random:
  // sum over labels of n_l (n_l - 1) / (n - 1).
  double chance_matches = 0;
  std::vector<int64_t> rows_per_label;     // indexed by label
  std::vector<int64_t> matches_per_label;  // indexed by label
};

// `points` holds labels.size() rows of `dims` floats, row-major; labels are in [0, label_count).
// Euclidean distance; among equally near points the first one counts (up to rounding). O(n^2 *
// dims) time, O(n * dims + 256 n) memory: the caller bounds n. Fewer than 2 points give zero rows.
NeighbourAgreement leave_one_out_agreement(std::span<const float> points, int dims,
                                           std::span<const int> labels, int label_count);

}  // namespace pomona::report
