// The PCA stage of featurize (reduce.h) and fit_pca / add_pca_column / default_pca_model_path
// (pomona/pipeline.h), on small generated rows.
#include "reduce.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;
using testing::TempFolder;

constexpr int kDim = 4;

// Row i of a seeded spread: no two rows alike, every axis varies.
FeatureRow row_of(int i) {
  FeatureRow row;
  row.path = "img-" + std::to_string(i) + ".jpg";
  for (int d = 0; d < kDim; ++d) row.features.push_back(std::sin(0.7f * i * (d + 1)) + 0.1f * d);
  return row;
}

FeatureRow error_row(int i) {
  FeatureRow row;
  row.path = "bad-" + std::to_string(i) + ".jpg";
  row.error = "not an image";
  return row;
}

// Writes rows 0..count-1, with an error row after every tenth, to output.
std::string write_features(const std::string& output, int count, int first = 0) {
  WriterOptions options;
  options.feature_dim = kDim;
  options.rows_per_file = 7;
  auto writer = RowWriter::open(output, options);
  for (int i = first; i < first + count; ++i) {
    writer->append(row_of(i));
    if (i % 10 == 0) writer->append(error_row(i));
  }
  writer->commit();
  return output;
}

std::string error_of(const std::function<void()>& run, ExitCode code) {
  try {
    run();
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no JobError";
  return "";
}

TEST(FeatureAccumulator, SkipsErrorRowsAndGivesTheStatisticsOfTheRest) {
  FeatureAccumulator accumulator;
  PcaAccumulator expected(kDim);
  // More than one block of rows (1024), so that the pending block is flushed midway.
  for (int i = 0; i < 1500; ++i) {
    accumulator.add(row_of(i), "features");
    accumulator.add(error_row(i), "features");
    expected.add_row(row_of(i).features);
  }
  const std::unique_ptr<PcaAccumulator> statistics = accumulator.finish();
  ASSERT_NE(statistics, nullptr);
  EXPECT_EQ(statistics->count(), 1500);
  for (int d = 0; d < kDim; ++d) EXPECT_NEAR(statistics->mean()[d], expected.mean()[d], 1e-12);
}

TEST(FeatureAccumulator, NoRowsGiveNoStatistics) {
  FeatureAccumulator accumulator;
  accumulator.add(error_row(0), "features");
  EXPECT_EQ(accumulator.finish(), nullptr);
}

TEST(FeatureAccumulator, RowOfAnotherLengthOrWithNanNamesItsPath) {
  FeatureAccumulator accumulator;
  accumulator.add(row_of(0), "out.parquet");
  FeatureRow shorter = row_of(1);
  shorter.features.pop_back();
  EXPECT_EQ(error_of([&] { accumulator.add(shorter, "out.parquet"); }, ExitCode::kInputOutput),
            "out.parquet: row img-1.jpg has 3 features, expected 4");
  FeatureRow nan = row_of(2);
  nan.features[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_of([&] { accumulator.add(nan, "out.parquet"); }, ExitCode::kInputOutput),
            "out.parquet: row img-2.jpg has a NaN or infinite feature (nan at index 1)");
}

TEST(FitPca, IncrementalFitOnNewRowsEqualsAFitOnAllRows) {
  TempFolder folder;
  const std::string first = write_features(folder / "first", 30);
  const std::string second = write_features(folder / "second", 25, 30);
  const std::string all = write_features(folder / "all", 55);
  const PcaModel earlier = fit_pca(first, {.k = 2});
  const PcaModel updated = fit_pca(second, {.k = 2}, &earlier.accumulator());
  const PcaModel whole = fit_pca(all, {.k = 2});
  EXPECT_EQ(updated.count(), 55);
  ASSERT_EQ(updated.components().size(), whole.components().size());
  for (size_t i = 0; i < whole.components().size(); ++i)
    EXPECT_NEAR(updated.components()[i], whole.components()[i], 1e-9);
}

TEST(FitPca, FewerThanTwoGoodRowsIsAConfigurationError) {
  TempFolder folder;
  const std::string one = write_features(folder / "one.parquet", 1);
  EXPECT_EQ(error_of([&] { fit_pca(one, {.k = 1}); }, ExitCode::kConfiguration),
            one + ": PCA needs at least 2 rows without error, got 1");
}

TEST(AddPcaColumn, StopBeforeTheEndPublishesNothing) {
  TempFolder folder;
  const std::string features = write_features(folder / "features", 40);
  const PcaModel model = fit_pca(features, {.k = 2});
  const std::atomic<bool> stop{true};
  EXPECT_TRUE(add_pca_column(features, model, folder / "out", 10, &stop).empty());
  EXPECT_FALSE(fs::exists(folder.path() / "out" / "_SUCCESS"));
  EXPECT_FALSE(fs::exists(folder.path() / "out" / "part-00000.parquet"));

  const std::vector<std::string> files = add_pca_column(features, model, folder / "out", 10);
  EXPECT_EQ(files.back(), folder / "out/_SUCCESS");
  EXPECT_EQ(read_rows(folder / "out").size(), read_rows(features).size());
}

TEST(DefaultPcaModelPath, InsideAFolderOutputBesideAFileOutput) {
  EXPECT_EQ(default_pca_model_path("out"), "out/_pca_model.parquet");
  EXPECT_EQ(default_pca_model_path("out/"), "out/_pca_model.parquet");
  EXPECT_EQ(default_pca_model_path("s3://bucket/out"), "s3://bucket/out/_pca_model.parquet");
  EXPECT_EQ(default_pca_model_path("dir/x.parquet"), "dir/x.pca-model.parquet");
}

TEST(PcaReducer, StagesHiddenBesideTheOutputAndRemovesWhatKilledRunsLeft) {
  TempFolder folder;
  const std::string output = folder / "x.parquet";
  const std::string killed = folder.write(".x.parquet.unreduced-99999.parquet", "left behind");
  std::string staging;
  {
    PcaReducer reducer(output, kDim);
    staging = reducer.staging_output();
    EXPECT_EQ(fs::path(staging).parent_path(), folder.path());
    EXPECT_TRUE(fs::path(staging).filename().string().starts_with(".x.parquet.unreduced-"));
    EXPECT_FALSE(fs::exists(killed));
    write_features(staging, 5);
  }
  EXPECT_FALSE(fs::exists(staging));
}

TEST(PublishWithPca, FitsSavesTheModelAndWritesTheOutputWithItsSettings) {
  TempFolder folder;
  const std::string staging = write_features(folder / ".staging.parquet", 20);
  FeaturizeOptions options;
  options.output = folder / "out.parquet";
  options.pca = PcaFitOptions{.k = 2};
  Summary summary;
  publish_with_pca(statistics_of(staging).get(), staging, options, {{"pomona.size", "96"}},
                   summary);
  EXPECT_FALSE(summary.stopped);
  EXPECT_EQ(summary.pca_k, 2);
  EXPECT_GT(summary.pca_variance, 0);
  EXPECT_LE(summary.pca_variance, 1 + 1e-9);
  EXPECT_EQ(summary.pca_model, folder / "out.pca-model.parquet");
  EXPECT_EQ(summary.files, std::vector<std::string>{options.output});
  EXPECT_EQ(recorded_settings(options.output).at("pomona.size"), "96");
  EXPECT_EQ(PcaModel::load(summary.pca_model).count(), 20);
}

TEST(PublishWithPca, FewerThanTwoRowsSaysWhatToDo) {
  FeaturizeOptions options;
  options.output = "out.parquet";
  options.pca = PcaFitOptions{.k = 2};
  Summary summary;
  EXPECT_EQ(error_of([&] { publish_with_pca(nullptr, "none", options, {}, summary); },
                     ExitCode::kConfiguration),
            "PCA needs at least 2 images without error, got 0: featurize more images, or leave "
            "out the PCA");
}

}  // namespace
}  // namespace pomona
