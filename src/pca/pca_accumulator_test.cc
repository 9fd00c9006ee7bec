#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "pomona/error.h"
#include "pomona/pca.h"

namespace pomona {
namespace {

constexpr int kDim = 9;

// Rows with a large common offset and unequal spreads: a naive sum-of-squares covariance would
// lose digits here, the centered update must not.
std::vector<float> random_rows(int64_t rows, uint32_t seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(rows * kDim);
  for (int64_t r = 0; r < rows; ++r) {
    for (int j = 0; j < kDim; ++j) values[r * kDim + j] = 100.0f + (j + 1) * normal(engine);
  }
  return values;
}

struct Moments {
  std::vector<double> mean;
  std::vector<double> covariance;
};

// The textbook two-pass computation in double: mean first, then centered products.
Moments two_pass(const std::vector<float>& values) {
  const int64_t rows = values.size() / kDim;
  Moments m{std::vector<double>(kDim, 0.0), std::vector<double>(kDim * kDim, 0.0)};
  for (int64_t r = 0; r < rows; ++r) {
    for (int j = 0; j < kDim; ++j) m.mean[j] += values[r * kDim + j];
  }
  for (double& v : m.mean) v /= rows;
  for (int64_t r = 0; r < rows; ++r) {
    for (int i = 0; i < kDim; ++i) {
      for (int j = 0; j < kDim; ++j) {
        m.covariance[i * kDim + j] +=
            (values[r * kDim + i] - m.mean[i]) * (values[r * kDim + j] - m.mean[j]);
      }
    }
  }
  for (double& v : m.covariance) v /= rows - 1;
  return m;
}

void expect_near_relative(const std::vector<double>& actual, const std::vector<double>& expected,
                          double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  double scale = 0;
  for (double v : expected) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance * scale) << "at " << i;
  }
}

PcaAccumulator accumulate(const std::vector<float>& values, int64_t begin, int64_t end) {
  PcaAccumulator accumulator(kDim);
  accumulator.add_rows(std::span(values).subspan(begin * kDim, (end - begin) * kDim), end - begin);
  return accumulator;
}

TEST(PcaAccumulator, MatchesTwoPassMeanAndCovarianceAcrossManyBlocks) {
  const auto values = random_rows(2500, 1);  // more than one internal block of 1024 rows
  const PcaAccumulator accumulator = accumulate(values, 0, 2500);
  const Moments expected = two_pass(values);
  EXPECT_EQ(accumulator.count(), 2500);
  expect_near_relative(accumulator.mean(), expected.mean, 1e-13);
  expect_near_relative(accumulator.covariance(), expected.covariance, 1e-12);
}

TEST(PcaAccumulator, RowByRowEqualsOneBatch) {
  const auto values = random_rows(300, 2);
  PcaAccumulator by_row(kDim);
  for (int64_t r = 0; r < 300; ++r) by_row.add_row(std::span(values).subspan(r * kDim, kDim));
  const PcaAccumulator by_batch = accumulate(values, 0, 300);
  expect_near_relative(by_row.mean(), by_batch.mean(), 1e-13);
  expect_near_relative(by_row.covariance(), by_batch.covariance(), 1e-12);
}

// Splits the rows into `parts` uneven parts, merges their accumulators in a shuffled order and
// fits both the merged and the one-piece statistics.
TEST(PcaAccumulator, MergeOf1And3And17PartsInShuffledOrderGivesTheSameModel) {
  const int64_t rows = 1000;
  const auto values = random_rows(rows, 3);
  const PcaAccumulator whole = accumulate(values, 0, rows);
  const PcaModel whole_model = PcaModel::fit(whole, {.k = kDim});
  for (int parts : {1, 3, 17}) {
    std::mt19937 engine(parts);
    std::vector<int64_t> cuts = {0, rows};
    while (static_cast<int>(cuts.size()) < parts + 1) {
      const int64_t cut = std::uniform_int_distribution<int64_t>(1, rows - 1)(engine);
      if (std::find(cuts.begin(), cuts.end(), cut) == cuts.end()) cuts.push_back(cut);
    }
    std::sort(cuts.begin(), cuts.end());
    std::vector<PcaAccumulator> pieces;
    for (int p = 0; p < parts; ++p) pieces.push_back(accumulate(values, cuts[p], cuts[p + 1]));
    std::shuffle(pieces.begin(), pieces.end(), engine);
    PcaAccumulator merged(kDim);
    for (const PcaAccumulator& piece : pieces) merged.merge(piece);

    SCOPED_TRACE(parts);
    EXPECT_EQ(merged.count(), rows);
    expect_near_relative(merged.mean(), whole.mean(), 1e-12);
    expect_near_relative(merged.covariance(), whole.covariance(), 1e-12);
    const PcaModel model = PcaModel::fit(merged, {.k = kDim});
    expect_near_relative(model.eigenvalues(), whole_model.eigenvalues(), 1e-12);
    expect_near_relative(model.explained_variance_ratio(), whole_model.explained_variance_ratio(),
                         1e-12);
    expect_near_relative(model.components(), whole_model.components(), 1e-10);
  }
}

TEST(PcaAccumulator, MergingAnEmptyAccumulatorChangesNothing) {
  const auto values = random_rows(50, 4);
  PcaAccumulator accumulator = accumulate(values, 0, 50);
  const std::string before = accumulator.serialize();
  accumulator.merge(PcaAccumulator(kDim));
  EXPECT_EQ(accumulator.serialize(), before);
  PcaAccumulator empty(kDim);
  empty.merge(accumulator);
  EXPECT_EQ(empty.serialize(), before);
}

TEST(PcaAccumulator, SerializedStateRoundTripsBitIdentically) {
  const auto values = random_rows(64, 5);
  const PcaAccumulator accumulator = accumulate(values, 0, 64);
  const std::string bytes = accumulator.serialize();
  const PcaAccumulator restored = PcaAccumulator::deserialize(bytes);
  EXPECT_EQ(restored.dim(), kDim);
  EXPECT_EQ(restored.count(), 64);
  EXPECT_EQ(restored.mean(), accumulator.mean());
  EXPECT_EQ(restored.covariance(), accumulator.covariance());
  EXPECT_EQ(restored.serialize(), bytes);
}

TEST(PcaAccumulator, DeserializeRejectsTruncatedOrForeignBytes) {
  const std::string bytes = accumulate(random_rows(8, 6), 0, 8).serialize();
  EXPECT_THROW(PcaAccumulator::deserialize(bytes.substr(0, bytes.size() - 1)), JobError);
  EXPECT_THROW(PcaAccumulator::deserialize(bytes + "x"), JobError);
  EXPECT_THROW(PcaAccumulator::deserialize("PAR1 and then some bytes"), JobError);
}

TEST(PcaAccumulator, NonFiniteRowIsRejectedAndLeavesTheStateUnchanged) {
  auto values = random_rows(10, 7);
  PcaAccumulator accumulator = accumulate(values, 0, 10);
  const std::string before = accumulator.serialize();
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    values[5 * kDim + 3] = bad;
    try {
      accumulator.add_rows(values, 10);
      FAIL() << "no error for " << bad;
    } catch (const JobError& e) {
      EXPECT_EQ(e.code(), ExitCode::kInputOutput);
      EXPECT_NE(std::string(e.what()).find("row 5 "), std::string::npos) << e.what();
    }
    EXPECT_EQ(accumulator.serialize(), before);
  }
}

TEST(PcaAccumulator, RowsOfTheWrongLengthAndOtherDimensionsAreRejected) {
  PcaAccumulator accumulator(kDim);
  EXPECT_THROW(accumulator.add_rows(std::vector<float>(kDim + 1), 1), JobError);
  EXPECT_THROW(accumulator.merge(PcaAccumulator(kDim + 1)), JobError);
  EXPECT_EQ(accumulator.count(), 0);
}

TEST(PcaAccumulator, CovarianceNeedsTwoRows) {
  PcaAccumulator accumulator(kDim);
  EXPECT_THROW(accumulator.covariance(), JobError);
  accumulator.add_row(std::vector<float>(kDim, 1.0f));
  EXPECT_THROW(accumulator.covariance(), JobError);
  accumulator.add_row(std::vector<float>(kDim, 2.0f));
  EXPECT_DOUBLE_EQ(accumulator.covariance()[0], 0.5);
}

}  // namespace
}  // namespace pomona
