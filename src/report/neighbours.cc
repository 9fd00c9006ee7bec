#include "neighbours.h"

#include <cblas.h>

#include <algorithm>
#include <limits>

namespace pomona::report {
namespace {

// Rows whose distances to all others are computed at once: a block x n matrix of doubles
// (10 MB at n = 5,000), so that the work is one matrix product per block.
constexpr int64_t kBlockRows = 256;

// The points minus their mean, in double: distances do not change, and the expansion
// |a - b|^2 = |a|^2 + |b|^2 - 2 a.b below loses no precision to a large common offset (Spark's
// projection does not center).
std::vector<double> centered(std::span<const float> points, int64_t n, int dims) {
  std::vector<double> mean(dims, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < dims; ++d) mean[d] += points[i * dims + d];
  }
  for (double& m : mean) m /= static_cast<double>(n);
  std::vector<double> out(points.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < dims; ++d) out[i * dims + d] = points[i * dims + d] - mean[d];
  }
  return out;
}

}  // namespace

NeighbourAgreement leave_one_out_agreement(std::span<const float> points, int dims,
                                           std::span<const int> labels, int label_count) {
  NeighbourAgreement result;
  result.rows_per_label.assign(label_count, 0);
  result.matches_per_label.assign(label_count, 0);
  const int64_t n = static_cast<int64_t>(labels.size());
  if (n < 2) return result;
  result.rows = n;

  const std::vector<double> x = centered(points, n, dims);
  std::vector<double> norms(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < dims; ++d) norms[i] += x[i * dims + d] * x[i * dims + d];
  }
  std::vector<double> dots(static_cast<size_t>(std::min(kBlockRows, n)) * n);
  for (int64_t begin = 0; begin < n; begin += kBlockRows) {
    const int64_t block = std::min(kBlockRows, n - begin);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(block),
                static_cast<int>(n), dims, 1.0, x.data() + begin * dims, dims, x.data(), dims, 0.0,
                dots.data(), static_cast<int>(n));
    for (int64_t r = 0; r < block; ++r) {
      const int64_t i = begin + r;
      const double* dot = dots.data() + r * n;
      double best = std::numeric_limits<double>::infinity();
      int64_t nearest = i == 0 ? 1 : 0;  // the first other point, should every distance tie
      for (int64_t j = 0; j < n; ++j) {
        const double distance = norms[i] + norms[j] - 2 * dot[j];
        if (j != i && distance < best) best = distance, nearest = j;
      }
      ++result.rows_per_label[labels[i]];
      if (labels[nearest] == labels[i]) {
        ++result.matches;
        ++result.matches_per_label[labels[i]];
      }
    }
  }
  for (int64_t count : result.rows_per_label) {
    result.chance_matches += static_cast<double>(count) * (count - 1) / (n - 1);
  }
  return result;
}

}  // namespace pomona::report
