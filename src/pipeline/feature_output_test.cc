// FeatureOutput (feature_output.h): where featurize's rows go and how a PCA is staged, on small
// generated rows (no network).
#include "feature_output.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "pomona/pca.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;
using testing::TempFolder;

constexpr int kDim = 3;

// Inputs "/in/<i>.jpg" for i in [begin, end): size i, mtime 1000 + i (+ `touched`).
std::vector<ObjectInfo> inputs_of(int begin, int end, int64_t touched = 0) {
  std::vector<ObjectInfo> inputs;
  for (int i = begin; i < end; ++i)
    inputs.push_back(
        {.uri = "/in/" + std::to_string(i) + ".jpg", .size = i, .mtime_ns = 1000 + i + touched});
  return inputs;
}

// The row featurize would make of input: features spread so that every axis varies.
FeatureRow row_of(const ObjectInfo& input) {
  FeatureRow row;
  row.path = input.uri;
  row.size = input.size;
  row.mtime_ns = input.mtime_ns;
  for (int d = 0; d < kDim; ++d) row.features.push_back(std::cos(1.3f * input.size * (d + 1)));
  return row;
}

WriterOptions writer_options() {
  WriterOptions options;
  options.feature_dim = kDim;
  options.rows_per_file = 4;
  options.settings = {{"pomona.size", "96"}};
  return options;
}

FeaturizeOptions options_for(const std::string& output) {
  FeaturizeOptions options;
  options.output = output;
  options.rows_per_file = 4;
  return options;
}

// Opens the output for inputs, appends the rows of what is left to do, publishes.
Summary run(const FeaturizeOptions& options, const std::vector<ObjectInfo>& inputs,
            std::vector<std::string>* done = nullptr) {
  Summary summary;
  FeatureOutput output(options, writer_options(), inputs, summary);
  for (const ObjectInfo& input : output.todo()) {
    if (done) done->push_back(input.uri);
    output.append(row_of(input));
    ++summary.images;
  }
  output.publish(summary);
  return summary;
}

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FeatureOutput, FolderResumesOnlyWhatIsNewOrChangedAndKeepsOneRowPerInput) {
  TempFolder folder;
  const FeaturizeOptions options = options_for(folder / "out");
  run(options, inputs_of(0, 6));

  std::vector<ObjectInfo> inputs = inputs_of(0, 9);
  inputs[2].mtime_ns += 1;  // changed since
  std::vector<std::string> done;
  const Summary summary = run(options, inputs, &done);
  EXPECT_EQ(summary.skipped, 5);
  EXPECT_EQ(done, (std::vector<std::string>{"/in/2.jpg", "/in/6.jpg", "/in/7.jpg", "/in/8.jpg"}));
  const std::vector<FeatureRow> rows = read_rows(options.output);
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [](const FeatureRow& row) { return row.path == "/in/2.jpg"; }),
            1);
  EXPECT_EQ(summary.files.back(), folder / "out/_SUCCESS");
}

TEST(FeatureOutput, VanishedInputsAreCountedAndKeptUnlessPruned) {
  TempFolder folder;
  FeaturizeOptions options = options_for(folder / "out");
  run(options, inputs_of(0, 5));
  EXPECT_EQ(run(options, inputs_of(0, 3)).vanished, 2);
  EXPECT_EQ(read_rows(options.output).size(), 5u);
  options.prune_deleted = true;
  EXPECT_EQ(run(options, inputs_of(0, 3)).vanished, 2);
  EXPECT_EQ(read_rows(options.output).size(), 3u);
}

TEST(FeatureOutput, PartialFolderKeepsItsRowsForTheNextRunAndAFilePublishesNothing) {
  TempFolder folder;
  for (const std::string& output : {folder / "out", folder / "out.parquet"}) {
    Summary summary;
    {
      FeatureOutput partial(options_for(output), writer_options(), inputs_of(0, 10), summary);
      for (int i = 0; i < 5; ++i) partial.append(row_of(partial.todo()[i]));
      partial.publish_partial(summary);
    }
    if (output.ends_with(".parquet")) {
      EXPECT_TRUE(summary.files.empty());
      EXPECT_EQ(names_in(folder.path()), std::vector<std::string>{"out"});
      continue;
    }
    EXPECT_FALSE(fs::exists(fs::path(output) / "_SUCCESS"));
    EXPECT_EQ(read_rows(output).size(), 5u);
    Summary resumed;
    FeatureOutput next(options_for(output), writer_options(), inputs_of(0, 10), resumed);
    EXPECT_EQ(resumed.skipped, 5);
    EXPECT_EQ(next.todo().front().uri, "/in/5.jpg");
  }
}

TEST(FeatureOutput, PcaOfAFileIsStagedHiddenBesideItAndTheStagingGoesAfterwards) {
  TempFolder folder;
  FeaturizeOptions options = options_for(folder / "x.parquet");
  options.pca = PcaFitOptions{.k = 2};
  Summary summary;
  {
    FeatureOutput output(options, writer_options(), inputs_of(0, 12), summary);
    for (const ObjectInfo& input : output.todo()) output.append(row_of(input));
    // Before publish: the rows are in a hidden staging file (under its writer's temp name), not
    // in the output.
    const std::vector<std::string> names = names_in(folder.path());
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(names[0].starts_with(".")) << names[0];
    EXPECT_NE(names[0].find(".x.parquet.unreduced-"), std::string::npos) << names[0];
    output.publish(summary);
  }
  EXPECT_EQ(summary.pca_k, 2);
  EXPECT_EQ(summary.files, std::vector<std::string>{options.output});
  EXPECT_EQ(names_in(folder.path()),
            (std::vector<std::string>{"x.parquet", "x.pca-model.parquet"}));
  EXPECT_EQ(read_rows(options.output).size(), 12u);
  EXPECT_EQ(recorded_settings(options.output).at("pomona.size"), "96");
}

TEST(FeatureOutput, PcaOfAFolderKeepsResumableRowsInUnreducedAndRefitsOnAllOfThem) {
  TempFolder folder;
  FeaturizeOptions options = options_for(folder / "out");
  options.pca = PcaFitOptions{.k = 2};
  run(options, inputs_of(0, 8));
  std::vector<std::string> done;
  const Summary summary = run(options, inputs_of(0, 11), &done);
  EXPECT_EQ(done, (std::vector<std::string>{"/in/8.jpg", "/in/9.jpg", "/in/10.jpg"}));
  EXPECT_EQ(summary.skipped, 8);
  EXPECT_EQ(read_rows(folder / "out/_unreduced").size(), 11u);
  EXPECT_EQ(read_rows(options.output).size(), 11u);
  EXPECT_EQ(summary.pca_model, folder / "out/_pca_model.parquet");
  EXPECT_EQ(PcaModel::load(summary.pca_model).count(), 11);
}

}  // namespace
}  // namespace pomona
