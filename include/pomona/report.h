// report/: one self-contained HTML page describing a features file: rows and errors per label,
// the PCA's explained variance, a scatter of the first two principal components and how well the
// labels separate in PCA space. Inline CSS and SVG only: no script, no external resource, so the
// page opens offline, on a phone and in print.
#pragma once

#include <cstdint>
#include <string>

namespace pomona {

struct ReportOptions {
  std::string features;  // .parquet file or folder of part files (table.h schema)
  std::string html;      // the page to write
  // A PCA model file (pca.h) to project the features with. Empty: fit one from the features,
  // with k = pca_k when > 0, else the smallest k reaching pca_variance, projecting centered rows
  // when center is set.
  std::string model;
  int pca_k = 0;
  double pca_variance = 0.95;
  bool center = false;
  // Bounds on what a figure holds, so that memory and time do not grow with the row count
  // (counts and the error list always cover every row).
  int64_t max_scatter_points = 5'000;
  int64_t max_neighbour_rows = 5'000;  // leave-one-out 1-NN costs O(n^2)
  int max_neighbour_dims = 50;
};

struct ReportSummary {
  int64_t rows = 0;
  int64_t errors = 0;
  int64_t labels = 0;
  int k = 0;  // 0 when no PCA (fewer than 2 good rows)
  int64_t scatter_points = 0;
  int64_t neighbour_rows = 0;      // 0 when not computed
  double neighbour_agreement = 0;  // leave-one-out 1-NN label agreement in [0, 1]
};

// Reads the features (once to count and project, once more first when fitting the PCA), keeping
// only the bounded samples in memory, and writes the page to a hidden temp file beside
// options.html that is renamed into place. Throws JobError(kInputOutput) when the features or the
// model cannot be read or a good row holds NaN/Inf or a length unlike the others, or the page
// cannot be written; JobError(kConfiguration) when the model's dimension differs from the
// features' or the PCA options are invalid. Then no page is written.
ReportSummary write_report(const ReportOptions& options);

}  // namespace pomona
