// FeatureBlock and read_feature_blocks: the one reader that turns feature rows into PCA blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/table.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

FeatureRow good(const std::string& path, std::vector<float> features) {
  FeatureRow row;
  row.path = path;
  row.features = std::move(features);
  return row;
}

FeatureRow failed(const std::string& path) {
  FeatureRow row;
  row.path = path;
  row.error = "cannot decode";
  return row;
}

std::vector<float> values(const FeatureBlock& block) {
  return {block.values().begin(), block.values().end()};
}

// The message of the JobError(kInputOutput) that f throws.
template <typename F>
std::string input_error(F f) {
  try {
    f();
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kInputOutput);
    return error.what();
  }
  ADD_FAILURE() << "no JobError";
  return "";
}

TEST(FeatureBlock, PacksRowsRowMajorAndSkipsErrorRows) {
  FeatureBlock block("features.parquet");
  EXPECT_TRUE(block.add(good("a.jpg", {1, 2})));
  EXPECT_FALSE(block.add(failed("b.jpg")));
  EXPECT_TRUE(block.add(good("c.jpg", {3, 4})));
  EXPECT_EQ(block.dim(), 2);
  EXPECT_EQ(block.rows(), 2);
  EXPECT_EQ(values(block), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(block.good_rows(), (std::vector<int64_t>{0, 2}));
}

TEST(FeatureBlock, ClearKeepsTheDimensionForTheNextRows) {
  FeatureBlock block;
  block.add("0", std::vector<float>{1, 2, 3});
  block.clear();
  EXPECT_EQ(block.rows(), 0);
  EXPECT_EQ(block.dim(), 3);
  EXPECT_TRUE(block.good_rows().empty());
  EXPECT_EQ(input_error([&] {
              block.add("1", std::vector<float>{1, 2});
            }),
            "row 1 has 2 features, expected 3");
}

TEST(FeatureBlock, RowOfAnotherDimensionNamesTheSourceRowAndBothLengths) {
  FeatureBlock block("out/features.parquet", 2);
  block.add(good("a.jpg", {1, 2}));
  EXPECT_EQ(input_error([&] {
              block.add(good("b.jpg", {1, 2, 3}));
            }),
            "out/features.parquet: row b.jpg has 3 features, expected 2");
  EXPECT_EQ(values(block), (std::vector<float>{1, 2}));  // unchanged
  EXPECT_EQ(block.good_rows(), (std::vector<int64_t>{0}));
}

TEST(FeatureBlock, NanOrInfiniteRowNamesTheRowTheValueAndItsIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  FeatureBlock block;
  block.add("0", std::vector<float>{1, 2, 3});
  EXPECT_EQ(input_error([&] {
              block.add("7", std::vector<float>{1, nan, 3});
            }),
            "row 7 has a NaN or infinite feature (nan at index 1)");
  EXPECT_EQ(input_error([&] {
              block.add("8", std::vector<float>{1, 2, inf});
            }),
            "row 8 has a NaN or infinite feature (inf at index 2)");
  EXPECT_EQ(input_error([&] {
              block.add("9", std::vector<float>{-inf, 2, 3});
            }),
            "row 9 has a NaN or infinite feature (-inf at index 0)");
  EXPECT_EQ(block.rows(), 1);
}

TEST(FeatureBlock, RowWithoutErrorOrFeaturesIsRefused) {
  FeatureBlock first("f.parquet");
  EXPECT_EQ(input_error([&] { first.add(good("a.jpg", {})); }),
            "f.parquet: row a.jpg has 0 features, expected at least 1");
  FeatureBlock later("f.parquet", 4);
  EXPECT_EQ(input_error([&] { later.add(good("a.jpg", {})); }),
            "f.parquet: row a.jpg has 0 features, expected 4");
}

TEST(FeatureBlock, FirstRowsWithErrorsLeaveTheDimensionOpen) {
  FeatureBlock block;
  block.add(failed("a.jpg"));
  EXPECT_EQ(block.dim(), 0);
  block.add(good("b.jpg", {5}));
  EXPECT_EQ(block.dim(), 1);
  EXPECT_EQ(block.good_rows(), (std::vector<int64_t>{1}));
}

std::string write_rows(const std::string& path, const std::vector<FeatureRow>& rows, int dim) {
  WriterOptions options;
  options.feature_dim = dim;
  auto writer = RowWriter::open(path, options);
  for (const FeatureRow& row : rows) writer->append(row);
  writer->commit();
  return path;
}

TEST(ReadFeatureBlocks, PacksEachBatchSkippingErrorRowsAsReadRowsGivesThem) {
  testing::TempFolder folder;
  const std::string path =
      write_rows((folder.path() / "f.parquet").string(),
                 {failed("a.jpg"), good("b.jpg", {1, 2}), good("c.jpg", {3, 4}), failed("d.jpg"),
                  good("e.jpg", {5, 6})},
                 2);
  std::vector<std::vector<float>> blocks;
  std::vector<std::vector<int64_t>> good_rows;
  std::vector<size_t> batch_sizes;
  read_feature_blocks(path, 0, 2, [&](std::vector<FeatureRow>& rows, const FeatureBlock& block) {
    batch_sizes.push_back(rows.size());
    blocks.push_back(values(block));
    good_rows.push_back(block.good_rows());
    EXPECT_EQ(block.dim(), 2);
  });
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(blocks, (std::vector<std::vector<float>>{{1, 2}, {3, 4}, {5, 6}}));
  EXPECT_EQ(good_rows, (std::vector<std::vector<int64_t>>{{1}, {0}, {0}}));
}

TEST(ReadFeatureBlocks, EmptyFileGivesNoRows) {
  testing::TempFolder folder;
  const std::string path = write_rows((folder.path() / "f.parquet").string(), {}, 3);
  int64_t rows = 0;
  read_feature_blocks(path, 0, 1024, [&](std::vector<FeatureRow>&, const FeatureBlock& block) {
    rows += block.rows();
  });
  EXPECT_EQ(rows, 0);
}

TEST(ReadFeatureBlocks, NanRowNamesTheFileAndTheRow) {
  testing::TempFolder folder;
  const std::string path =
      write_rows((folder.path() / "f.parquet").string(),
                 {good("a.jpg", {1, 2}), good("b.jpg", {std::nanf(""), 2})}, 2);
  EXPECT_EQ(input_error([&] {
              read_feature_blocks(path, 0, 1024,
                                  [](std::vector<FeatureRow>&, const FeatureBlock&) {});
            }),
            path + ": row b.jpg has a NaN or infinite feature (nan at index 0)");
}

TEST(ReadFeatureBlocks, RowsOfAnotherDimensionThanAskedNameTheRow) {
  testing::TempFolder folder;
  const std::string path =
      write_rows((folder.path() / "f.parquet").string(), {good("a.jpg", {1, 2})}, 2);
  EXPECT_EQ(input_error([&] {
              read_feature_blocks(path, 3, 1024,
                                  [](std::vector<FeatureRow>&, const FeatureBlock&) {});
            }),
            path + ": row a.jpg has 2 features, expected 3");
}

}  // namespace
}  // namespace pomona
