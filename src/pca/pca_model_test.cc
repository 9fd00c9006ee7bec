#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "pomona/error.h"
#include "pomona/pca.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

constexpr int kDim = 6;
constexpr int64_t kRows = 400;

// Rows x = offset + A z with z standard normal: a covariance with distinct eigenvalues.
std::vector<float> correlated_rows(uint32_t seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<double> normal;
  std::vector<double> mix(kDim * kDim);
  for (double& v : mix) v = normal(engine);
  std::vector<float> values(kRows * kDim);
  std::vector<double> z(kDim);
  for (int64_t r = 0; r < kRows; ++r) {
    for (double& v : z) v = normal(engine);
    for (int i = 0; i < kDim; ++i) {
      double x = 3.0 + i;
      for (int j = 0; j < kDim; ++j) x += mix[i * kDim + j] * z[j] * (j + 1);
      values[r * kDim + i] = static_cast<float>(x);
    }
  }
  return values;
}

PcaAccumulator accumulate(const std::vector<float>& values) {
  PcaAccumulator accumulator(kDim);
  accumulator.add_rows(values, static_cast<int64_t>(values.size() / kDim));
  return accumulator;
}

double dot(const double* a, const double* b) { return std::inner_product(a, a + kDim, b, 0.0); }

TEST(PcaModel, ComponentsAreOrthonormalEigenvectorsSortedByEigenvalue) {
  const PcaAccumulator accumulator = accumulate(correlated_rows(1));
  const PcaModel model = PcaModel::fit(accumulator, {.k = kDim});
  const std::vector<double> covariance = accumulator.covariance();
  ASSERT_EQ(model.components().size(), static_cast<size_t>(kDim * kDim));
  for (int i = 0; i < kDim; ++i) {
    const double* v = model.components().data() + i * kDim;
    if (i > 0) {
      EXPECT_GT(model.eigenvalues()[i - 1], model.eigenvalues()[i]);
    }
    for (int j = 0; j < kDim; ++j) {
      EXPECT_NEAR(dot(v, model.components().data() + j * kDim), i == j ? 1.0 : 0.0, 1e-12);
      // (C v)_j == lambda v_j
      EXPECT_NEAR(dot(covariance.data() + j * kDim, v), model.eigenvalues()[i] * v[j],
                  1e-10 * model.eigenvalues()[0]);
    }
  }
}

TEST(PcaModel, LargestEntryOfEachComponentIsPositive) {
  const PcaModel model = PcaModel::fit(accumulate(correlated_rows(2)), {.k = kDim});
  for (int i = 0; i < kDim; ++i) {
    const double* v = model.components().data() + i * kDim;
    const double* largest =
        std::max_element(v, v + kDim, [](double a, double b) { return std::abs(a) < std::abs(b); });
    EXPECT_GT(*largest, 0) << "component " << i;
  }
}

TEST(PcaModel, ExplainedVarianceRatioIsEigenvalueOverTotalAndKeptForAllComponents) {
  const PcaModel model = PcaModel::fit(accumulate(correlated_rows(3)), {.k = 2});
  EXPECT_EQ(model.k(), 2);
  EXPECT_EQ(model.components().size(), static_cast<size_t>(2 * kDim));
  ASSERT_EQ(model.explained_variance_ratio().size(), static_cast<size_t>(kDim));
  const double total = std::accumulate(model.eigenvalues().begin(), model.eigenvalues().end(), 0.0);
  for (int i = 0; i < kDim; ++i) {
    EXPECT_DOUBLE_EQ(model.explained_variance_ratio()[i], model.eigenvalues()[i] / total);
  }
}

TEST(PcaModel, VarianceTargetPicksTheSmallestKReachingIt) {
  const PcaAccumulator accumulator = accumulate(correlated_rows(4));
  const auto ratios = PcaModel::fit(accumulator, {.k = 1}).explained_variance_ratio();
  const double first_two = ratios[0] + ratios[1];
  EXPECT_EQ(PcaModel::fit(accumulator, {.variance = first_two - 1e-9}).k(), 2);
  EXPECT_EQ(PcaModel::fit(accumulator, {.variance = first_two + 1e-9}).k(), 3);
  EXPECT_EQ(PcaModel::fit(accumulator, {.variance = ratios[0] / 2}).k(), 1);
  EXPECT_EQ(PcaModel::fit(accumulator, {.variance = 1.0}).k(), kDim);
}

TEST(PcaModel, BadKOrVarianceOptionsAreConfigurationErrors) {
  const PcaAccumulator accumulator = accumulate(correlated_rows(5));
  for (const PcaFitOptions& options :
       {PcaFitOptions{.k = kDim + 1}, PcaFitOptions{}, PcaFitOptions{.k = 2, .variance = 0.5},
        PcaFitOptions{.variance = 1.5}, PcaFitOptions{.k = -1}}) {
    try {
      PcaModel::fit(accumulator, options);
      FAIL() << "k " << options.k << " variance " << options.variance;
    } catch (const JobError& e) {
      EXPECT_EQ(e.code(), ExitCode::kConfiguration);
    }
  }
}

// The CLI says --pca-k, Python k=: the message names the value and the setting, no flag.
TEST(PcaModel, KAboveTheDimensionNamesTheValueAndTheSetting) {
  try {
    PcaModel::fit(accumulate(correlated_rows(5)), {.k = kDim + 1});
    FAIL() << "k above the dimension was accepted";
  } catch (const JobError& e) {
    EXPECT_EQ(std::string(e.what()), "k = " + std::to_string(kDim + 1) +
                                         " components is more than the feature dimension " +
                                         std::to_string(kDim) + ": choose k from 1 to " +
                                         std::to_string(kDim));
    EXPECT_EQ(e.setting(), Setting::kPcaK);
  }
}

TEST(PcaModel, TransformProjectsRawRowsLikeSparkOrCenteredRowsLikeScikitLearn) {
  const auto values = correlated_rows(6);
  const PcaAccumulator accumulator = accumulate(values);
  for (bool center : {false, true}) {
    const PcaModel model = PcaModel::fit(accumulator, {.k = 3, .center = center});
    std::vector<float> projected(kRows * 3);
    model.transform(values, kRows, projected);
    for (int64_t r = 0; r < kRows; r += 37) {
      const std::vector<float> one = model.transform(std::span(values).subspan(r * kDim, kDim));
      for (int c = 0; c < 3; ++c) {
        double expected = 0;
        for (int j = 0; j < kDim; ++j) {
          const double x = values[r * kDim + j] - (center ? model.mean()[j] : 0.0);
          expected += x * model.components()[c * kDim + j];
        }
        EXPECT_NEAR(projected[r * 3 + c], expected, 1e-6 * std::max(1.0, std::abs(expected)));
        EXPECT_EQ(one[c], projected[r * 3 + c]);
      }
    }
  }
}

TEST(PcaModel, SavedModelLoadsBackBitIdentically) {
  testing::TempFolder folder;
  const PcaModel model = PcaModel::fit(accumulate(correlated_rows(7)), {.k = 4, .center = true});
  const std::string path = folder / "model.parquet";
  model.save(path);
  const PcaModel loaded = PcaModel::load(path);
  EXPECT_EQ(loaded.k(), 4);
  EXPECT_EQ(loaded.dim(), kDim);
  EXPECT_EQ(loaded.count(), kRows);
  EXPECT_TRUE(loaded.center());
  EXPECT_EQ(loaded.mean(), model.mean());
  EXPECT_EQ(loaded.components(), model.components());
  EXPECT_EQ(loaded.eigenvalues(), model.eigenvalues());
  EXPECT_EQ(loaded.explained_variance_ratio(), model.explained_variance_ratio());
  EXPECT_EQ(loaded.accumulator().serialize(), model.accumulator().serialize());
  // Only the model itself: the temp file was renamed into place.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(folder.path()), {}), 1);
}

TEST(PcaModel, RefitFromSavedStatePlusNewRowsEqualsFitOnAllRows) {
  testing::TempFolder folder;
  const auto old_rows = correlated_rows(8);
  const auto new_rows = correlated_rows(9);
  PcaModel::fit(accumulate(old_rows), {.k = 2}).save(folder / "old.parquet");
  PcaAccumulator updated = PcaModel::load(folder / "old.parquet").accumulator();
  updated.merge(accumulate(new_rows));
  std::vector<float> all = old_rows;
  all.insert(all.end(), new_rows.begin(), new_rows.end());
  PcaAccumulator everything(kDim);
  everything.add_rows(all, 2 * kRows);
  const auto a = PcaModel::fit(updated, {.k = 2}).eigenvalues();
  const auto b = PcaModel::fit(everything, {.k = 2}).eigenvalues();
  for (int i = 0; i < kDim; ++i) EXPECT_NEAR(a[i], b[i], 1e-12 * b[0]);
}

TEST(PcaModel, LoadingSomethingElseIsAnInputError) {
  testing::TempFolder folder;
  for (const std::string& path :
       {folder / "missing.parquet", folder.write("junk.parquet", "not parquet at all")}) {
    try {
      PcaModel::load(path);
      FAIL() << path;
    } catch (const JobError& e) {
      EXPECT_EQ(e.code(), ExitCode::kInputOutput);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(PcaModel, SaveIntoAMissingFolderFailsAndLeavesNoFile) {
  testing::TempFolder folder;
  const PcaModel model = PcaModel::fit(accumulate(correlated_rows(10)), {.k = 1});
  EXPECT_THROW(model.save(folder / "no/such/folder/model.parquet"), JobError);
  EXPECT_TRUE(std::filesystem::is_empty(folder.path()));
}

}  // namespace
}  // namespace pomona
