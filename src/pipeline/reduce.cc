// fit_pca, add_pca_column, default_pca_model_path (pomona/pipeline.h) and the PCA stage of
// featurize (reduce.h).
#include "reduce.h"

#include <unistd.h>

#include "pomona/error.h"
#include "pomona/files.h"

namespace pomona {
namespace {

// Rows handed to BLAS at once and rows per batch read back from Parquet: large enough for syrk
// and gemm to run at full speed, small enough to keep memory flat (1024 x 1280 floats = 5 MB).
constexpr int64_t kBlockRows = 1024;

constexpr std::string_view kParquetExtension = ".parquet";

std::string without_parquet_extension(const std::string& uri) {
  return uri.substr(0, uri.size() - kParquetExtension.size());
}

}  // namespace

FeatureAccumulator::FeatureAccumulator(int dim) : dim_(dim) {}

void FeatureAccumulator::add(const FeatureRow& row, const std::string& source) {
  if (!pending_) pending_.emplace(source, dim_);
  if (pending_->add(row) && pending_->rows() == kBlockRows) flush();
}

void FeatureAccumulator::flush() {
  if (!pending_ || pending_->rows() == 0) return;
  if (!accumulator_) accumulator_ = std::make_unique<PcaAccumulator>(pending_->dim());
  accumulator_->add_rows(pending_->values(), pending_->rows());
  pending_->clear();
}

std::unique_ptr<PcaAccumulator> FeatureAccumulator::finish() {
  flush();
  return std::move(accumulator_);
}

std::unique_ptr<PcaAccumulator> statistics_of(const std::string& features, int dim) {
  FeatureAccumulator accumulator(dim);
  read_row_batches(features, kBlockRows, [&](std::vector<FeatureRow>& rows) {
    for (const FeatureRow& row : rows) accumulator.add(row, features);
  });
  return accumulator.finish();
}

PcaModel fit_pca(const std::string& features, const PcaFitOptions& options,
                 const PcaAccumulator* previous) {
  std::unique_ptr<PcaAccumulator> statistics =
      statistics_of(features, previous ? previous->dim() : 0);
  if (previous) {
    auto merged = std::make_unique<PcaAccumulator>(*previous);
    if (statistics) merged->merge(*statistics);
    statistics = std::move(merged);
  }
  const int64_t rows = statistics ? statistics->count() : 0;
  if (rows < 2) {
    throw JobError(
        ExitCode::kConfiguration,
        features + ": PCA needs at least 2 rows without error, got " + std::to_string(rows));
  }
  return PcaModel::fit(*statistics, options);
}

std::vector<std::string> add_pca_column(const std::string& features, const PcaModel& model,
                                        const std::string& output, int64_t rows_per_file,
                                        const std::atomic<bool>* stop,
                                        const std::map<std::string, std::string>& settings) {
  WriterOptions writer_options;
  writer_options.rows_per_file = rows_per_file;
  writer_options.feature_dim = model.dim();
  writer_options.pca_dim = model.k();
  writer_options.settings = settings;
  writer_options.metadata["pomona.pca_k"] = std::to_string(model.k());
  writer_options.metadata["pomona.pca_center"] = model.center() ? "true" : "false";
  auto writer = RowWriter::open(output, writer_options);
  std::vector<float> projected;
  bool stopped = false;
  const auto project = [&](std::vector<FeatureRow>& rows, const FeatureBlock& block) {
    if (stopped || (stop != nullptr && stop->load(std::memory_order_relaxed))) {
      stopped = true;
      return;
    }
    projected.resize(block.rows() * model.k());
    model.transform(block.values(), block.rows(), projected);
    for (int64_t i = 0; i < block.rows(); ++i) {
      rows[block.good_rows()[i]].pca.assign(projected.begin() + i * model.k(),
                                            projected.begin() + (i + 1) * model.k());
    }
    for (FeatureRow& row : rows) writer->append(std::move(row));
  };
  read_feature_blocks(features, model.dim(), kBlockRows, project);
  if (stopped) return {};  // the writer, destroyed uncommitted, publishes no _SUCCESS
  return writer->commit();
}

std::string default_pca_model_path(const std::string& output) {
  const std::string path = files::without_trailing_slashes(output);
  if (!is_single_file_output(path)) return files::join_uri(path, "_pca_model.parquet");
  return without_parquet_extension(path) + ".pca-model.parquet";
}

PcaReducer::PcaReducer(const std::string& output, int feature_dim)
    : output_(output), features_(feature_dim) {
  // featurize stages only single-file outputs here (a folder output stages in OUTPUT/_unreduced),
  // so the staging output is a .parquet file too, hidden beside the output.
  const std::string folder = files::folder_of(output);
  const std::string prefix = "." + files::name_of(output) + ".unreduced-";
  staging_ = folder + prefix + std::to_string(getpid()) + std::string(kParquetExtension);
  // Staging files of killed runs: featurize holds the output's lock, no live run writes them.
  for (const std::string& name : files::file_names_in(files::containing_folder(output))) {
    if (name.starts_with(prefix)) files::remove_file(folder + name);
  }
}

PcaReducer::~PcaReducer() {
  try {
    files::remove_file(staging_);
  } catch (const JobError&) {
    // A staging file that cannot be removed is hidden from readers; the job's outcome stands.
  }
}

void PcaReducer::finish(const FeaturizeOptions& options,
                        const std::map<std::string, std::string>& settings, Summary& summary) {
  publish_with_pca(features_.finish().get(), staging_, options, settings, summary);
  if (summary.stopped) summary.files.clear();  // the staging file goes with this object
}

void publish_with_pca(const PcaAccumulator* statistics, const std::string& staging,
                      const FeaturizeOptions& options,
                      const std::map<std::string, std::string>& settings, Summary& summary) {
  const int64_t rows = statistics ? statistics->count() : 0;
  if (rows < 2) {
    throw JobError(ExitCode::kConfiguration, "PCA needs at least 2 images without error, got " +
                                                 std::to_string(rows) +
                                                 ": featurize more images, or leave out the PCA");
  }
  const auto stopped = [&] {
    summary.stopped = options.stop != nullptr && options.stop->load(std::memory_order_relaxed);
    return summary.stopped;
  };
  if (stopped()) return;
  const PcaModel model = PcaModel::fit(*statistics, *options.pca);
  if (stopped()) return;
  summary.pca_model =
      options.pca_model.empty() ? default_pca_model_path(options.output) : options.pca_model;
  // The default model path is inside a folder output, which its writer has not created yet.
  const std::string model_folder = files::containing_folder(summary.pca_model);
  files::make_folder(model_folder);
  // Its temp files from killed runs (its folder may be neither this output nor locked: exactly
  // its own name's).
  files::remove_temp_files(model_folder, files::name_of(summary.pca_model) + ".tmp-");
  model.save(summary.pca_model);
  std::vector<std::string> files =
      add_pca_column(staging, model, options.output, options.rows_per_file, options.stop, settings);
  if (stopped()) return;
  summary.files = std::move(files);
  summary.pca_k = model.k();
  summary.pca_variance = 0;
  for (int i = 0; i < model.k(); ++i) summary.pca_variance += model.explained_variance_ratio()[i];
}

}  // namespace pomona
