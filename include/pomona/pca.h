// pca/: exact principal component analysis of feature vectors that may not fit in memory.
// A PcaAccumulator keeps n, the mean and the centered scatter matrix in double precision; partial
// accumulators (threads, files, Spark partitions, earlier runs) merge in any order. A PcaModel is
// fitted from an accumulator, saved to and loaded from one Parquet file, and projects rows.
//
// Semantics follow Spark ML's PCA by default: the covariance divides by n - 1, the explained
// variance ratio of component i is eigenvalue_i / sum of all eigenvalues, and transform projects
// the raw, uncentered vector (x . V). With center = true transform gives (x - mean) . V, as
// scikit-learn does. Components are sorted by eigenvalue, largest first, and each one's entry of
// largest magnitude is positive, so the same data always gives the same signs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pomona {

// Running n, mean and scatter sum_i (x_i - mean)(x_i - mean)^T of dim-long rows, in double.
// Not thread-safe: give each thread its own accumulator and merge them.
class PcaAccumulator {
 public:
  // Requires dim > 0.
  explicit PcaAccumulator(int dim);

  int dim() const { return dim_; }
  int64_t count() const { return count_; }
  // dim values; all zero while count() == 0.
  const std::vector<double>& mean() const { return mean_; }
  // The sample covariance (scatter / (n - 1)), dim x dim row-major, both triangles filled.
  // Throws JobError(kInputOutput) when count() < 2.
  std::vector<double> covariance() const;

  // Adds `rows` rows stored row-major in `values` (values.size() == rows * dim()). Throws
  // JobError(kInputOutput) naming the row (0-based within this call) when a value is NaN or
  // infinite, and JobError(kConfiguration) when values.size() is not rows * dim(); then the
  // accumulator is unchanged.
  void add_rows(std::span<const float> values, int64_t rows);
  void add_row(std::span<const float> row) { add_rows(row, 1); }

  // Adds everything `other` has seen, as if its rows had been added here. The result does not
  // depend on the order of merges beyond double rounding. Throws JobError(kConfiguration) when the
  // dimensions differ.
  void merge(const PcaAccumulator& other);

  // The full state as bytes (little-endian; format version, dim, n, mean, upper triangle of the
  // scatter) and back: deserialize(serialize()) is bit-identical. deserialize throws
  // JobError(kInputOutput) when the bytes are not such a state.
  std::string serialize() const;
  static PcaAccumulator deserialize(std::string_view bytes);

 private:
  int dim_;
  int64_t count_ = 0;
  std::vector<double> mean_;
  std::vector<double> scatter_;  // dim x dim row-major; only the upper triangle is kept current
};

struct PcaFitOptions {
  // Exactly one of k > 0 or 0 < variance <= 1: k components, or the smallest k whose cumulative
  // explained variance ratio reaches `variance`.
  int k = 0;
  double variance = 0;
  // Transform (x - mean) . V instead of Spark's x . V.
  bool center = false;
};

// Throws JobError(kConfiguration) unless options ask for exactly one of k > 0 components or a
// variance share in (0, 1]. PcaModel::fit checks this first; faces call it before any row is read.
void check_fit_options(const PcaFitOptions& options);

class PcaModel {
 public:
  // Eigen-decomposes the accumulator's covariance (LAPACK dsyevd). Throws JobError(kInputOutput)
  // when the accumulator has fewer than 2 rows, JobError(kConfiguration) when k > dim or the
  // options are not exactly one of k / variance.
  static PcaModel fit(const PcaAccumulator& accumulator, const PcaFitOptions& options);

  // One Parquet file, one row: version, n, dim, k, center, mean, components (k lists of dim),
  // eigenvalues, explained_variance_ratio, accumulator (serialize() bytes). save() writes a hidden
  // temp file beside `path` and renames it into place; throws JobError(kInputOutput) when it
  // cannot. load() gives back every value bit-identically; throws JobError(kInputOutput) naming
  // the path when it cannot read it or it is not a Pomona PCA model.
  void save(const std::string& path) const;
  static PcaModel load(const std::string& path);

  int k() const { return k_; }
  int dim() const { return dim_; }
  int64_t count() const { return count_; }
  bool center() const { return center_; }
  // dim values.
  const std::vector<double>& mean() const { return mean_; }
  // k x dim row-major: row i is the i-th principal axis (unit length).
  const std::vector<double>& components() const { return components_; }
  // All dim eigenvalues of the covariance and their ratios to the total, largest first, whatever k.
  const std::vector<double>& eigenvalues() const { return eigenvalues_; }
  const std::vector<double>& explained_variance_ratio() const { return explained_variance_ratio_; }
  // The statistics the model was fitted from: merge new rows into a copy and fit() again to update
  // the model without reading the old rows.
  const PcaAccumulator& accumulator() const { return accumulator_; }

  // Projects `rows` rows of dim values (row-major) to rows x k values, computed in double.
  // Requires values.size() == rows * dim() and out.size() == rows * k().
  void transform(std::span<const float> values, int64_t rows, std::span<float> out) const;
  std::vector<float> transform(std::span<const float> row) const;

 private:
  PcaModel() : accumulator_(1) {}

  int k_ = 0;
  int dim_ = 0;
  int64_t count_ = 0;
  bool center_ = false;
  std::vector<double> mean_;
  std::vector<double> components_;
  std::vector<double> eigenvalues_;
  std::vector<double> explained_variance_ratio_;
  PcaAccumulator accumulator_;
};

}  // namespace pomona
