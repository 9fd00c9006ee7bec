#include "report_command.h"

#include <cstdio>
#include <memory>

#include "checks.h"
#include "pomona/report.h"

namespace pomona {
namespace {

constexpr const char* kReportExamples = R"(
Examples:
  pomona report features.parquet report.html
  pomona report results/ report.html --model pca.parquet
  pomona report features.parquet report.html --pca-k 50 --pca-center
)";

void print_summary(const ReportSummary& summary, const std::string& html) {
  std::printf("pomona: report of %lld rows (%lld errors, %lld labels)",
              static_cast<long long>(summary.rows), static_cast<long long>(summary.errors),
              static_cast<long long>(summary.labels));
  if (summary.k > 0) std::printf(", k = %d", summary.k);
  if (summary.neighbour_rows > 0) {
    std::printf(", 1-NN label agreement %.1f%% over %lld rows", 100 * summary.neighbour_agreement,
                static_cast<long long>(summary.neighbour_rows));
  }
  std::printf(" -> %s\n", html.c_str());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* command = app.add_subcommand(
      "report", "Write one self-contained HTML page about a features file: labels, errors, PCA.");
  command->footer(kReportExamples);
  command->add_option("FEATURES", options->features, "a .parquet file or folder of part files")
      ->required();
  command->add_option("OUTPUT", options->html, "the HTML file to write")->required();
  add_retired_option(*command, "--html", true,
                     "is now the second argument: pomona report FEATURES OUTPUT");
  CLI::Option* model = command->add_option("--model", options->model,
                                           "a PCA model (pomona pca fit); default: fit one");
  CLI::Option* k = command->add_option("--pca-k", options->pca_k, "components to keep when fitting")
                       ->check(whole_number_at_least_one());
  CLI::Option* variance =
      command
          ->add_option("--pca-variance", options->pca_variance,
                       "when fitting: smallest k reaching this explained variance")
          ->check(CLI::Range(0.0, 1.0).description("in (0, 1]"))
          ->capture_default_str();
  CLI::Option* center =
      command->add_flag("--pca-center", options->center, "when fitting: project x - mean, not x");
  add_retired_option(*command, "--center", false, "is now --pca-center");
  k->excludes(variance);
  for (CLI::Option* fitting : {k, variance, center}) model->excludes(fitting);
  command
      ->add_option("--max-points", options->max_scatter_points,
                   "scatter plot points; more rows are sampled by a hash of the path")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      ->add_option("--max-neighbour-rows", options->max_neighbour_rows,
                   "rows of the 1-NN agreement, which costs O(n^2)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20))
      ->capture_default_str();
  command->callback([options] { print_summary(write_report(*options), options->html); });
}

}  // namespace pomona
