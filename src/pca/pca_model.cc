// PcaModel::fit and transform (include/pomona/pca.h); the model file is in pca_model_file.cc.
#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "pomona/error.h"
#include "pomona/pca.h"

namespace pomona {
namespace {

// Rows projected at once: bounds the double copies of input and output.
constexpr int64_t kRowsPerBlock = 256;

int components_for_variance(const std::vector<double>& ratios, double variance) {
  double cumulative = 0;
  for (size_t i = 0; i < ratios.size(); ++i) {
    cumulative += ratios[i];
    if (cumulative >= variance) return static_cast<int>(i + 1);
  }
  // Rounding can leave the sum of all ratios a hair under 1.
  return static_cast<int>(ratios.size());
}

}  // namespace

void check_fit_options(const PcaFitOptions& options) {
  const bool by_k = options.k > 0;
  const bool by_variance = options.variance > 0 && options.variance <= 1;
  if (by_k == by_variance || options.k < 0 || options.variance < 0) {
    char given[80];
    std::snprintf(given, sizeof(given), "k = %d, variance = %g", options.k, options.variance);
    throw JobError(ExitCode::kConfiguration,
                   std::string("PCA needs either k > 0 components or a variance share in (0, 1], "
                               "not ") +
                       given);
  }
}

PcaModel PcaModel::fit(const PcaAccumulator& accumulator, const PcaFitOptions& options) {
  const int dim = accumulator.dim();
  check_fit_options(options);
  const bool by_k = options.k > 0;
  if (options.k > dim) {
    throw JobError(ExitCode::kConfiguration,
                   "k = " + std::to_string(options.k) +
                       " components is more than the feature "
                       "dimension " +
                       std::to_string(dim) + ": choose k from 1 to " + std::to_string(dim),
                   Setting::kPcaK);
  }
  std::vector<double> vectors = accumulator.covariance();
  std::vector<double> ascending(dim);
  // dsyevd: eigenvalues ascending, eigenvector j in column j of the row-major matrix.
  const lapack_int info =
      LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', dim, vectors.data(), dim, ascending.data());
  if (info != 0) {
    throw JobError(ExitCode::kInputOutput,
                   "eigen-decomposition of the covariance failed (LAPACK dsyevd info " +
                       std::to_string(info) + ")");
  }

  PcaModel model;
  model.dim_ = dim;
  model.count_ = accumulator.count();
  model.center_ = options.center;
  model.mean_ = accumulator.mean();
  model.accumulator_ = accumulator;
  model.eigenvalues_.assign(ascending.rbegin(), ascending.rend());
  // A covariance is positive semi-definite: negative eigenvalues are rounding.
  for (double& value : model.eigenvalues_) value = std::max(value, 0.0);
  double total = 0;
  for (double value : model.eigenvalues_) total += value;
  // Rows that are all alike (copies of one image) have no direction to keep: every ratio would be
  // 0/0. Rounding leaves a total of about 1e-16 of the squared features' size then.
  double scale = 0;
  for (double m : model.mean_) scale += m * m;
  if (!(total > 1e-12 * std::max(scale, 1e-300))) {
    throw JobError(ExitCode::kConfiguration,
                   "PCA of " + std::to_string(accumulator.count()) +
                       " rows: their features do not vary (are the images copies of one?), so "
                       "there is no component to keep; fit on varied images");
  }
  model.explained_variance_ratio_.resize(dim);
  for (int i = 0; i < dim; ++i) model.explained_variance_ratio_[i] = model.eigenvalues_[i] / total;
  model.k_ =
      by_k ? options.k : components_for_variance(model.explained_variance_ratio_, options.variance);

  model.components_.resize(static_cast<size_t>(model.k_) * dim);
  for (int i = 0; i < model.k_; ++i) {
    double* component = model.components_.data() + static_cast<size_t>(i) * dim;
    const int column = dim - 1 - i;
    for (int j = 0; j < dim; ++j) component[j] = vectors[static_cast<size_t>(j) * dim + column];
    // An eigenvector's sign is arbitrary: make the entry of largest magnitude positive.
    const double* largest = std::max_element(
        component, component + dim, [](double a, double b) { return std::abs(a) < std::abs(b); });
    if (*largest < 0) {
      for (int j = 0; j < dim; ++j) component[j] = -component[j];
    }
  }
  return model;
}

void PcaModel::transform(std::span<const float> values, int64_t rows, std::span<float> out) const {
  if (values.size() != static_cast<size_t>(rows) * dim_ ||
      out.size() != static_cast<size_t>(rows) * k_) {
    throw JobError(ExitCode::kConfiguration,
                   "PCA transform needs rows of " + std::to_string(dim_) + " values");
  }
  std::vector<double> input;
  std::vector<double> output;
  for (int64_t begin = 0; begin < rows; begin += kRowsPerBlock) {
    const int64_t block = std::min(kRowsPerBlock, rows - begin);
    const float* x = values.data() + static_cast<size_t>(begin) * dim_;
    input.resize(static_cast<size_t>(block) * dim_);
    for (int64_t r = 0; r < block; ++r) {
      for (int j = 0; j < dim_; ++j) {
        input[r * dim_ + j] = center_ ? x[r * dim_ + j] - mean_[j] : x[r * dim_ + j];
      }
    }
    output.resize(static_cast<size_t>(block) * k_);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(block), k_, dim_, 1.0,
                input.data(), dim_, components_.data(), dim_, 0.0, output.data(), k_);
    std::copy(output.begin(), output.end(), out.begin() + static_cast<size_t>(begin) * k_);
  }
}

std::vector<float> PcaModel::transform(std::span<const float> row) const {
  std::vector<float> out(k_);
  transform(row, 1, out);
  return out;
}

}  // namespace pomona
