#include "pomona/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "count_for_tests.h"
#include "pomona/error.h"
#include "pomona/pca.h"
#include "pomona/table.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using report::count_occurrences;
using ::testing::HasSubstr;
using testing::TempFolder;

constexpr int kDim = 8;

// The markers of the page's scatter plot (its only circles).
int scatter_markers(const std::string& html) {
  const size_t begin = html.find("<svg class=\"scatter\"");
  if (begin == std::string::npos) return 0;
  return count_occurrences(html.substr(begin, html.find("</svg>", begin) - begin), "<circle cx=");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `per_label` rows for each of `labels` labels, each label a tight cluster around its own corner,
// then `errors` error rows.
std::vector<FeatureRow> clustered_rows(int labels, int per_label, int errors) {
  std::mt19937 random(11);
  std::normal_distribution<float> noise(0, 0.05f);
  std::vector<FeatureRow> rows;
  for (int label = 0; label < labels; ++label) {
    for (int i = 0; i < per_label; ++i) {
      FeatureRow& row = rows.emplace_back();
      row.label = "class_" + std::to_string(label);
      row.path = "/images/" + row.label + "/" + std::to_string(i) + ".jpg";
      for (int d = 0; d < kDim; ++d)
        row.features.push_back((d == label ? 3.0f : 0.0f) + noise(random));
    }
  }
  for (int i = 0; i < errors; ++i) {
    FeatureRow& row = rows.emplace_back();
    row.path = "/images/class_0/bad_" + std::to_string(i) + ".jpg";
    row.label = "class_0";
    row.error = "truncated";
  }
  return rows;
}

std::string write_features(const std::string& output, const std::vector<FeatureRow>& rows,
                           int64_t rows_per_file = 100'000) {
  WriterOptions options;
  options.rows_per_file = rows_per_file;
  options.feature_dim = kDim;
  auto writer = RowWriter::open(output, options);
  for (const FeatureRow& row : rows) writer->append(row);
  writer->commit();
  return output;
}

ReportOptions options_for(const std::string& features, const std::string& html) {
  ReportOptions options;
  options.features = features;
  options.html = html;
  return options;
}

TEST(WriteReport, CountsEveryRowAndSeparatesClusteredLabels) {
  TempFolder folder;
  const std::string features = write_features(folder / "f.parquet", clustered_rows(3, 30, 2));
  const ReportSummary summary = write_report(options_for(features, folder / "r.html"));
  EXPECT_EQ(summary.rows, 92);
  EXPECT_EQ(summary.errors, 2);
  EXPECT_EQ(summary.labels, 3);
  EXPECT_EQ(summary.k, 2);  // three clusters span a plane holding nearly all the variance
  EXPECT_EQ(summary.scatter_points, 90);
  EXPECT_EQ(summary.neighbour_rows, 90);
  EXPECT_DOUBLE_EQ(summary.neighbour_agreement, 1.0);

  const std::string html = read_file(folder / "r.html");
  EXPECT_EQ(scatter_markers(html), 90);
  EXPECT_EQ(count_occurrences(html, "<g class=\"points\""), 3);
  EXPECT_THAT(html, HasSubstr("All 2 error rows"));
  EXPECT_THAT(html, HasSubstr("<tr><td>/images/class_0/bad_1.jpg</td><td>truncated</td></tr>"));
  EXPECT_THAT(html, HasSubstr("All 90 good rows."));
  EXPECT_FALSE(std::filesystem::exists(folder / ".r.html.tmp-" + std::to_string(getpid())));
}

TEST(WriteReport, SamplesTheScatterAndTheNeighboursBeyondTheirCaps) {
  TempFolder folder;
  const std::string features = write_features(folder / "f.parquet", clustered_rows(3, 30, 0));
  ReportOptions options = options_for(features, folder / "r.html");
  options.max_scatter_points = 25;
  options.max_neighbour_rows = 12;
  const ReportSummary summary = write_report(options);
  EXPECT_EQ(summary.scatter_points, 25);
  EXPECT_EQ(summary.neighbour_rows, 12);
  const std::string html = read_file(folder / "r.html");
  EXPECT_EQ(scatter_markers(html), 25);
  EXPECT_THAT(html, HasSubstr("A sample of 25 of the 90 good rows (at most 25"));
  EXPECT_THAT(html, HasSubstr("Computed on a sample of 12 of the 90 good rows"));
}

TEST(WriteReport, ReadsAFolderOfPartFilesAsOneInput) {
  TempFolder folder;
  const std::vector<FeatureRow> rows = clustered_rows(2, 25, 3);
  const std::string features = write_features(folder / "parts", rows, 7);
  EXPECT_GT(std::distance(std::filesystem::directory_iterator(features),
                          std::filesystem::directory_iterator()),
            5);
  const ReportSummary summary = write_report(options_for(features, folder / "r.html"));
  EXPECT_EQ(summary.rows, 53);
  EXPECT_EQ(summary.errors, 3);
  EXPECT_EQ(summary.scatter_points, 50);
}

TEST(WriteReport, ProjectsWithAGivenModelAndReportsItsK) {
  TempFolder folder;
  const std::vector<FeatureRow> rows = clustered_rows(4, 20, 0);
  PcaAccumulator accumulator(kDim);
  for (const FeatureRow& row : rows) accumulator.add_row(row.features);
  PcaModel::fit(accumulator, {.k = 5, .center = true}).save(folder / "model.parquet");
  ReportOptions options =
      options_for(write_features(folder / "f.parquet", rows), folder / "r.html");
  options.model = folder / "model.parquet";
  const ReportSummary summary = write_report(options);
  EXPECT_EQ(summary.k, 5);
  EXPECT_DOUBLE_EQ(summary.neighbour_agreement, 1.0);
  const std::string html = read_file(folder / "r.html");
  EXPECT_THAT(html, HasSubstr(">k = 5 ("));
  EXPECT_THAT(html, HasSubstr("from the model " + (folder / "model.parquet")));
  EXPECT_THAT(html, HasSubstr("projecting x &minus; mean"));
}

TEST(WriteReport, FitsTwoAxesForTheScatterWhenOneComponentIsEnough) {
  TempFolder folder;
  // Two clusters on one axis: one component keeps nearly all the variance.
  const std::string features = write_features(folder / "f.parquet", clustered_rows(2, 20, 0));
  ReportOptions options = options_for(features, folder / "r.html");
  options.pca_variance = 0.5;
  const ReportSummary summary = write_report(options);
  EXPECT_EQ(summary.k, 1);
  EXPECT_EQ(summary.scatter_points, 40);
  EXPECT_EQ(scatter_markers(read_file(folder / "r.html")), 40);
}

TEST(WriteReport, WritesAReportOfCountsWhenNoRowIsGood) {
  TempFolder folder;
  const std::string features = write_features(folder / "f.parquet", clustered_rows(0, 0, 4));
  const ReportSummary summary = write_report(options_for(features, folder / "r.html"));
  EXPECT_EQ(summary.rows, 4);
  EXPECT_EQ(summary.errors, 4);
  EXPECT_EQ(summary.k, 0);
  EXPECT_EQ(summary.neighbour_rows, 0);
  EXPECT_THAT(read_file(folder / "r.html"), HasSubstr("No PCA: fewer than two good rows."));
}

void expect_job_error_without_page(const ReportOptions& options, ExitCode code,
                                   const std::string& message) {
  try {
    write_report(options);
    ADD_FAILURE() << "no JobError";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), code);
    EXPECT_THAT(error.what(), HasSubstr(message));
  }
  EXPECT_FALSE(std::filesystem::exists(options.html));
}

TEST(WriteReport, RefusesAModelOfAnotherDimension) {
  TempFolder folder;
  PcaAccumulator accumulator(3);
  for (float v : {0.0f, 1.0f, 5.0f}) accumulator.add_row(std::vector<float>{v, v * v, 1 - v});
  PcaModel::fit(accumulator, {.k = 2}).save(folder / "model.parquet");
  ReportOptions options =
      options_for(write_features(folder / "f.parquet", clustered_rows(2, 5, 0)), folder / "r.html");
  options.model = folder / "model.parquet";
  expect_job_error_without_page(options, ExitCode::kConfiguration, "has dimension 3");
}

TEST(WriteReport, RefusesNonFiniteFeaturesNamingTheRow) {
  TempFolder folder;
  std::vector<FeatureRow> rows = clustered_rows(2, 5, 0);
  rows[3].features[2] = std::numeric_limits<float>::quiet_NaN();
  const std::string features = write_features(folder / "f.parquet", rows);
  expect_job_error_without_page(
      options_for(features, folder / "r.html"), ExitCode::kInputOutput,
      "row " + rows[3].path + " has a NaN or infinite feature (nan at index 2)");
}

TEST(WriteReport, RefusesAnHtmlPathInAMissingFolderBeforeReading) {
  TempFolder folder;
  // The features do not exist either: the output folder is checked first.
  expect_job_error_without_page(options_for(folder / "none.parquet", folder / "no/r.html"),
                                ExitCode::kInputOutput, "no folder " + (folder / "no"));
}

TEST(WriteReport, RefusesAMissingFeaturesFile) {
  TempFolder folder;
  expect_job_error_without_page(options_for(folder / "none.parquet", folder / "r.html"),
                                ExitCode::kInputOutput, "none.parquet");
}

}  // namespace
}  // namespace pomona
