// write_report (include/pomona/report.h): the passes over the features and the PCA; the page
// itself is built from plain data in html.cc.
#include "pomona/report.h"

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>

#include "html.h"
#include "neighbours.h"
#include "pomona/error.h"
#include "pomona/pca.h"
#include "pomona/table.h"
#include "sample.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;

// Rows per batch read from the features (about 5 MB of 1280-d features). The batches are
// FeatureBlocks (table.h), which refuse a row of another length or with a NaN or infinite value,
// naming it: NaN would otherwise poison the PCA or every distance silently.
constexpr int64_t kBatchRows = 1024;

// The first pass when no model is given: the PCA statistics of every good row.
std::optional<PcaAccumulator> accumulate(const std::string& features_path) {
  std::optional<PcaAccumulator> accumulator;
  read_feature_blocks(features_path, 0, kBatchRows,
                      [&](std::vector<FeatureRow>&, const FeatureBlock& block) {
                        if (block.rows() == 0) return;
                        if (!accumulator) accumulator.emplace(block.dim());
                        accumulator->add_rows(block.values(), block.rows());
                      });
  return accumulator;
}

// The first `dims` coordinates of PcaModel::transform: the figures need at most 50 of the k
// columns, and projecting onto only those is k/50 times cheaper on large inputs.
class LeadingProjection {
 public:
  LeadingProjection(const PcaModel& model, int dims)
      : model_(model), dims_(dims), offset_(dims, 0.0) {
    if (!model.center()) return;
    // (x - mean) . v = x . v - mean . v
    for (int c = 0; c < dims; ++c) {
      const double* component = model.components().data() + static_cast<size_t>(c) * model.dim();
      for (int j = 0; j < model.dim(); ++j) offset_[c] += model.mean()[j] * component[j];
    }
  }

  int dims() const { return dims_; }

  // rows x dims() values of the rows of block.
  const std::vector<double>& project(const FeatureBlock& block) {
    const int rows = static_cast<int>(block.rows());
    input_.assign(block.values().begin(), block.values().end());
    output_.resize(static_cast<size_t>(rows) * dims_);
    // The first dims rows of the k x dim component matrix are its first dims * dim values.
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, dims_, model_.dim(), 1.0,
                input_.data(), model_.dim(), model_.components().data(), model_.dim(), 0.0,
                output_.data(), dims_);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < dims_; ++c) output_[static_cast<size_t>(r) * dims_ + c] -= offset_[c];
    }
    return output_;
  }

 private:
  const PcaModel& model_;
  int dims_;
  std::vector<double> offset_;
  std::vector<double> input_;
  std::vector<double> output_;
};

struct SampledPoint {
  float x = 0, y = 0;
  std::string label;
};

struct SampledNeighbour {
  std::vector<float> coordinates;
  std::string label;
};

// What the second pass gathers: every count, the first errors and the two bounded samples.
struct Gathered {
  Gathered(int64_t max_scatter_points, int64_t max_neighbour_rows)
      : scatter(max_scatter_points), neighbours(max_neighbour_rows) {}

  int64_t rows = 0;
  int64_t errors = 0;
  int dim = 0;
  std::map<std::string, report::LabelSummary> labels;
  std::vector<report::ErrorRow> listed_errors;
  report::BottomHashSample<SampledPoint> scatter;
  report::BottomHashSample<SampledNeighbour> neighbours;
};

void gather_batch(std::span<const FeatureRow> rows, const FeatureBlock& block,
                  LeadingProjection* projection, int neighbour_dims, Gathered& gathered) {
  for (const FeatureRow& row : rows) {
    report::LabelSummary& label = gathered.labels[row.label];
    label.label = row.label;
    ++label.rows;
    if (!row.error) continue;
    ++label.errors;
    ++gathered.errors;
    if (static_cast<int64_t>(gathered.listed_errors.size()) < report::kListedErrors) {
      gathered.listed_errors.push_back({row.path, *row.error});
    }
  }
  if (block.dim()) gathered.dim = block.dim();
  if (projection != nullptr && block.rows() > 0) {
    const std::vector<double>& projected = projection->project(block);
    for (int64_t j = 0; j < block.rows(); ++j) {
      const FeatureRow& row = rows[block.good_rows()[j]];
      const double* coordinates = projected.data() + j * projection->dims();
      const uint64_t hash = report::stable_hash(row.path);
      const int64_t sequence = gathered.rows + block.good_rows()[j];
      if (projection->dims() >= 2) {
        gathered.scatter.offer(
            hash, sequence,
            {static_cast<float>(coordinates[0]), static_cast<float>(coordinates[1]), row.label});
      }
      gathered.neighbours.offer(
          hash, sequence,
          {std::vector<float>(coordinates, coordinates + neighbour_dims), row.label});
    }
  }
  gathered.rows += static_cast<int64_t>(rows.size());
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const fs::path target(path);
  // Hidden, like the table's temp files, so that nothing mistakes a half-written page for one.
  std::string temp_name = target.filename().string() + ".tmp-" + std::to_string(getpid());
  temp_name.insert(0, 1, '.');
  const fs::path temp = target.parent_path() / temp_name;
  std::ofstream out(temp, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  std::error_code error;
  if (!out) {
    const std::string reason = std::strerror(errno);
    fs::remove(temp, error);
    throw JobError(ExitCode::kInputOutput, "cannot write " + path + ": " + reason);
  }
  fs::rename(temp, target, error);
  if (error) {
    fs::remove(temp, error);
    throw JobError(ExitCode::kInputOutput, "cannot write " + path + ": " + error.message());
  }
}

}  // namespace

ReportSummary write_report(const ReportOptions& options) {
  if (options.max_scatter_points < 1 || options.max_neighbour_rows < 2 ||
      options.max_neighbour_dims < 1) {
    throw JobError(ExitCode::kConfiguration,
                   "report needs room for at least 1 scatter point, 2 neighbour rows, 1 dimension");
  }
  // Fail before reading what may be millions of rows, not after.
  const fs::path html_folder = fs::absolute(options.html).parent_path();
  if (std::error_code error; !fs::is_directory(html_folder, error)) {
    throw JobError(ExitCode::kInputOutput,
                   "cannot write " + options.html + ": no folder " + html_folder.string());
  }
  report::ReportData data;
  data.features_path = options.features;
  std::optional<PcaModel> model;     // the PCA whose k the page reports
  std::optional<PcaModel> two_axes;  // refit with k = 2 when the chosen k is 1, for the scatter
  if (!options.model.empty()) {
    model = PcaModel::load(options.model);
    data.pca_source = "from the model " + options.model;
  } else {
    const std::optional<PcaAccumulator> accumulator = accumulate(options.features);
    if (accumulator && accumulator->count() >= 2) {
      PcaFitOptions fit{.k = options.pca_k,
                        .variance = options.pca_k > 0 ? 0.0 : options.pca_variance,
                        .center = options.center};
      model = PcaModel::fit(*accumulator, fit);
      if (model->k() < 2 && model->dim() >= 2) {
        two_axes = PcaModel::fit(*accumulator, {.k = 2, .center = options.center});
      }
    }
    data.pca_source = "fitted from these features";
    if (options.pca_k == 0) data.variance_level = options.pca_variance;
  }

  const PcaModel* projecting = two_axes ? &*two_axes : model ? &*model : nullptr;
  const int neighbour_dims = model ? std::min(model->k(), options.max_neighbour_dims) : 0;
  std::optional<LeadingProjection> projection;
  if (projecting) {
    projection.emplace(*projecting, std::max(neighbour_dims, std::min(projecting->k(), 2)));
  }

  Gathered gathered(options.max_scatter_points, options.max_neighbour_rows);
  const auto gather = [&](std::vector<FeatureRow>& rows, const FeatureBlock& block) {
    if (model && block.dim() != 0 && block.dim() != model->dim()) {
      throw JobError(ExitCode::kConfiguration, "the model " + options.model + " has dimension " +
                                                   std::to_string(model->dim()) + " but " +
                                                   options.features + " has features of " +
                                                   std::to_string(block.dim()));
    }
    gather_batch(rows, block, projection ? &*projection : nullptr, neighbour_dims, gathered);
  };
  read_feature_blocks(options.features, 0, kBatchRows, gather);

  data.rows = gathered.rows;
  data.errors = gathered.errors;
  data.dim = model ? model->dim() : gathered.dim;
  std::map<std::string, int> label_index;
  for (auto& [name, summary] : gathered.labels) {
    label_index[name] = static_cast<int>(data.labels.size());
    data.labels.push_back(std::move(summary));
  }
  data.listed_errors = std::move(gathered.listed_errors);
  if (model) {
    data.k = model->k();
    data.centered = model->center();
    data.explained_variance_ratio = model->explained_variance_ratio();
  }
  data.max_scatter_points = options.max_scatter_points;
  data.scatter_population = gathered.scatter.offered();
  for (SampledPoint& point : gathered.scatter.take_in_arrival_order()) {
    data.scatter.push_back({point.x, point.y, label_index.at(point.label)});
  }
  data.neighbour_population = gathered.neighbours.offered();
  data.neighbour_dims = neighbour_dims;
  if (neighbour_dims > 0) {
    std::vector<float> coordinates;
    std::vector<int> labels;
    for (SampledNeighbour& row : gathered.neighbours.take_in_arrival_order()) {
      coordinates.insert(coordinates.end(), row.coordinates.begin(), row.coordinates.end());
      labels.push_back(label_index.at(row.label));
    }
    data.neighbours = report::leave_one_out_agreement(coordinates, neighbour_dims, labels,
                                                      static_cast<int>(data.labels.size()));
  }

  write_file_atomically(options.html, report::render_report_html(data));

  ReportSummary summary{.rows = data.rows,
                        .errors = data.errors,
                        .labels = static_cast<int64_t>(data.labels.size()),
                        .k = data.k,
                        .scatter_points = static_cast<int64_t>(data.scatter.size()),
                        .neighbour_rows = data.neighbours.rows};
  if (summary.neighbour_rows > 0) {
    summary.neighbour_agreement =
        static_cast<double>(data.neighbours.matches) / static_cast<double>(summary.neighbour_rows);
  }
  return summary;
}

}  // namespace pomona
