// The report page: plain data in, one self-contained HTML document out (inline CSS and SVG, no
// script, no external resource). Every string from the data is escaped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "charts.h"
#include "neighbours.h"

namespace pomona::report {

struct LabelSummary {
  std::string label;  // "" when rows carry no label
  int64_t rows = 0;   // all rows, errors included
  int64_t errors = 0;
};

struct ErrorRow {
  std::string path;
  std::string error;
};

struct ReportData {
  std::string features_path;
  std::string pca_source;  // where the PCA came from, e.g. "fitted from the features"
  bool centered = false;   // projection of (x - mean) rather than Spark's x
  int dim = 0;             // feature dimension
  int64_t rows = 0;
  int64_t errors = 0;
  std::vector<LabelSummary> labels;              // in label order; a label's index is its colour
  std::vector<ErrorRow> listed_errors;           // the first errors, at most kListedErrors
  std::vector<double> explained_variance_ratio;  // every component, largest first
  int k = 0;                                     // chosen number of components
  double variance_level = 0.95;                  // the cumulative level drawn on the scree plot
  std::vector<ScatterPoint> scatter;             // empty when the PCA has fewer than 2 components
  int64_t scatter_population = 0;                // good rows the scatter sample was drawn from
  int64_t max_scatter_points = 0;
  NeighbourAgreement neighbours;  // rows == 0 when not computed
  int neighbour_dims = 0;
  int64_t neighbour_population = 0;  // good rows the 1-NN sample was drawn from
};

inline constexpr int64_t kListedErrors = 100;

std::string render_report_html(const ReportData& data);

}  // namespace pomona::report
