// `pomona pca fit|transform` (pca_command.h).
#include "pca_command.h"

#include <cstdio>
#include <memory>
#include <numeric>

#include "checks.h"
#include "pomona/table.h"

namespace pomona {
namespace {

constexpr const char* kPcaExamples = R"(
Examples:
  pomona pca fit features.parquet pca.parquet --pca-variance 0.95
  pomona pca fit results/ pca.parquet --pca-k 400 --pca-center
  pomona pca fit new-features/ pca2.parquet --pca-k 400 --merge-with pca.parquet
  pomona pca transform features.parquet pca.parquet reduced.parquet
)";

struct PcaCommandOptions {
  std::string features;
  std::string model;
  std::string output;
  std::string merge_with;
  PcaFitOptions fit;
  int64_t rows_per_file = 100'000;
};

void add_k_options(CLI::App& command, PcaFitOptions& fit) {
  auto* k = command.add_option("--pca-k", fit.k, "number of components to keep")
                ->check(whole_number_at_least_one());
  command
      .add_option("--pca-variance", fit.variance,
                  "keep the fewest components explaining this share of the variance")
      ->check(CLI::Range(0.0, 1.0))
      ->excludes(k);
}

double explained_share(const PcaModel& model) {
  const auto& ratios = model.explained_variance_ratio();
  return std::accumulate(ratios.begin(), ratios.begin() + model.k(), 0.0);
}

void run_fit(const PcaCommandOptions& options) {
  std::unique_ptr<PcaModel> previous;
  if (!options.merge_with.empty()) {
    previous = std::make_unique<PcaModel>(PcaModel::load(options.merge_with));
  }
  const PcaModel model =
      fit_pca(options.features, options.fit, previous ? &previous->accumulator() : nullptr);
  model.save(options.model);
  std::printf("pomona: PCA of %lld rows x %d: %d components explain %.2f%% of the variance -> %s\n",
              static_cast<long long>(model.count()), model.dim(), model.k(),
              100 * explained_share(model), options.model.c_str());
}

void run_transform(const PcaCommandOptions& options) {
  const PcaModel model = PcaModel::load(options.model);
  // One run at a time on an output, as featurize (pomona/table.h).
  const std::unique_ptr<OutputLock> lock = OutputLock::acquire(options.output);
  add_pca_column(options.features, model, options.output, options.rows_per_file);
  std::printf("pomona: %d PCA components%s -> %s\n", model.k(), model.center() ? " (centered)" : "",
              options.output.c_str());
}

}  // namespace

void add_pca_command(CLI::App& app) {
  auto options = std::make_shared<PcaCommandOptions>();
  CLI::App* pca = app.add_subcommand("pca", "Fit a PCA on feature files, or project features.");
  pca->require_subcommand(1);
  pca->footer(kPcaExamples);

  CLI::App* fit = pca->add_subcommand(
      "fit", "Fit a PCA on the features of FEATURES (.parquet file or folder) into MODEL.");
  fit->add_option("FEATURES", options->features, "a .parquet file or folder of part files")
      ->required();
  fit->add_option("MODEL", options->model, "the model file to write (Parquet)")->required();
  add_k_options(*fit, options->fit);
  fit->add_flag("--pca-center", options->fit.center,
                "transform projects (x - mean) like scikit-learn, not x like Spark ML");
  add_retired_option(*fit, "--center", false, "is now --pca-center");
  fit->add_option("--merge-with", options->merge_with,
                  "an earlier model whose statistics are added: fit on old and new rows, reading "
                  "only the new ones");
  fit->callback([options] { run_fit(*options); });

  CLI::App* transform = pca->add_subcommand(
      "transform", "Write FEATURES' rows to OUTPUT with a `pca` column projected by MODEL.");
  transform->add_option("FEATURES", options->features, "a .parquet file or folder of part files")
      ->required();
  transform->add_option("MODEL", options->model, "a model written by `pomona pca fit`")->required();
  transform->add_option("OUTPUT", options->output, "a .parquet file, or a folder of part files")
      ->required();
  transform
      ->add_option("--rows-per-file", options->rows_per_file, "rows per part file (folder output)")
      ->check(whole_number_at_least_one())
      ->capture_default_str();
  transform->callback([options] { run_transform(*options); });
}

void add_featurize_pca_options(CLI::App& featurize, FeaturizeOptions& options) {
  auto pca = [&options]() -> PcaFitOptions& {
    if (!options.pca) options.pca.emplace();
    return *options.pca;
  };
  auto* k = featurize.add_option_function<int>(
      "--pca-k", [pca](int k) { pca().k = k; }, "also fit a PCA keeping this many components");
  k->check(whole_number_at_least_one());
  featurize
      .add_option_function<double>(
          "--pca-variance", [pca](double v) { pca().variance = v; },
          "also fit a PCA keeping the fewest components explaining this share of the variance")
      ->check(CLI::Range(0.0, 1.0))
      ->excludes(k);
  featurize.add_flag_function(
      "--pca-center", [pca](int64_t) { pca().center = true; },
      "the pca column is (x - mean) . V like scikit-learn, not x . V like Spark ML");
  featurize.add_option("--pca-model", options.pca_model,
                       "where the PCA model goes (default: OUTPUT/_pca_model.parquet, or "
                       "x.pca-model.parquet beside an x.parquet OUTPUT)");
}

}  // namespace pomona
