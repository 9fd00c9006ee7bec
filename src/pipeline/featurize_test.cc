// featurize (pomona/pipeline.h) end to end in C++: stop and resume, on the seeded Keras weights
// file the keras_test_weights fixture writes and the committed fixture images. The choice of
// output and the PCA staging are tested on small rows in feature_output_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "pomona/io.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;
using testing::TempFolder;

const fs::path kImages = fs::path(POMONA_SOURCE_DIR) / "tests" / "fixtures" / "keras" / "images";
const fs::path kWeights = fs::path(POMONA_TEST_WEIGHTS_DIR) / "models" /
                          "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5";

// The fixture images, each listed once.
const int64_t kInputs = std::distance(fs::directory_iterator(kImages), fs::directory_iterator());

// The fixture images, in two label folders.
std::string make_inputs(const TempFolder& folder) {
  int i = 0;
  for (const auto& entry : fs::directory_iterator(kImages)) {
    const fs::path to =
        folder.path() / "in" / (i++ % 2 ? "pear" : "apple") / entry.path().filename();
    fs::create_directories(to.parent_path());
    fs::copy_file(entry.path(), to);
  }
  return folder / "in";
}

FeaturizeOptions options_for(const std::string& input, const std::string& output) {
  FeaturizeOptions options;
  options.input = input;
  options.output = output;
  options.weights = kWeights.string();
  options.spec = {.alpha = 0.35f, .size = 96};
  options.threads = 2;
  options.batch = 2;
  options.rows_per_file = 3;
  return options;
}

std::vector<std::string> paths_of(const std::vector<FeatureRow>& rows) {
  std::vector<std::string> paths;
  for (const FeatureRow& row : rows) paths.push_back(row.path);
  return paths;
}

std::map<std::string, std::vector<float>> features_by_path(const std::vector<FeatureRow>& rows) {
  std::map<std::string, std::vector<float>> features;
  for (const FeatureRow& row : rows) features[row.path] = row.features;
  return features;
}

// The part files the manifest lists, in its order.
std::vector<std::string> manifest_files(const fs::path& folder) {
  std::ifstream manifest(folder / "_pomona_manifest.jsonl");
  std::vector<std::string> files;
  for (std::string line; std::getline(manifest, line);) {
    const size_t start = line.find("\"file\": \"") + 9;
    files.push_back(line.substr(start, line.find('"', start) - start));
  }
  return files;
}

std::vector<std::string> part_files(const fs::path& folder) {
  std::vector<std::string> parts;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("part-")) parts.push_back(name);
  }
  std::sort(parts.begin(), parts.end());
  return parts;
}

// Sets the stop flag once `rows` rows are written, as a signal handler would.
class StopAfter : public ProgressListener {
 public:
  StopAfter(std::atomic<bool>& stop, int64_t rows) : stop_(stop), rows_(rows) {}
  void on_progress(int64_t done, int64_t) override {
    if (done >= rows_) stop_ = true;
  }

 private:
  std::atomic<bool>& stop_;
  const int64_t rows_;
};

TEST(Featurize, StopEndsWithTheRowsDoneCommittedAndAManifestThatListsThem) {
  TempFolder folder;
  const std::string input = make_inputs(folder);
  const fs::path output = folder.path() / "out";
  std::atomic<bool> stop{false};
  FeaturizeOptions options = options_for(input, output.string());
  options.threads = 1;
  options.batch = 1;
  options.stop = &stop;
  StopAfter listener(stop, 2);
  const Summary summary = featurize(options, &listener);

  EXPECT_TRUE(summary.stopped);
  EXPECT_GE(summary.images, 2);
  EXPECT_LT(summary.images, kInputs);
  EXPECT_FALSE(fs::exists(output / "_SUCCESS"));
  // The parts published are the ones the manifest lists, nothing half-written beside them.
  EXPECT_EQ(manifest_files(output), part_files(output));
  // Every row written is committed: the first inputs of the listing, each once.
  const std::vector<FeatureRow> rows = read_rows(output.string());
  const std::vector<ObjectInfo> listed = list_inputs(input, options.list);
  ASSERT_EQ(rows.size(), static_cast<size_t>(summary.images));
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].path, listed[i].uri);
}

TEST(Featurize, ResumeCompletesAStoppedOutputWithoutDuplicatesAndEqualFeatures) {
  TempFolder folder;
  const std::string input = make_inputs(folder);
  const std::string output = folder / "out";
  std::atomic<bool> stop{false};
  FeaturizeOptions stopped = options_for(input, output);
  stopped.threads = 1;
  stopped.batch = 1;
  stopped.stop = &stop;
  StopAfter listener(stop, 2);
  ASSERT_TRUE(featurize(stopped, &listener).stopped);
  const size_t committed = read_rows(output).size();
  ASSERT_GT(committed, 0u);

  const Summary resumed = featurize(options_for(input, output));
  EXPECT_FALSE(resumed.stopped);
  EXPECT_EQ(resumed.skipped, static_cast<int64_t>(committed));
  EXPECT_EQ(resumed.images, kInputs - static_cast<int64_t>(committed));
  EXPECT_TRUE(fs::exists(fs::path(output) / "_SUCCESS"));

  const std::string whole = folder / "whole";
  featurize(options_for(input, whole));
  const std::vector<FeatureRow> rows = read_rows(output);
  const std::vector<FeatureRow> expected = read_rows(whole);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kInputs));
  EXPECT_EQ(paths_of(rows), paths_of(expected));  // listing order, each input once
  EXPECT_EQ(features_by_path(rows), features_by_path(expected));

  // A third run finds everything done.
  const Summary again = featurize(options_for(input, output));
  EXPECT_EQ(again.images, 0);
  EXPECT_EQ(again.skipped, kInputs);
  EXPECT_EQ(read_rows(output).size(), static_cast<size_t>(kInputs));
}

TEST(Featurize, ThreadsAndBatchDoNotChangeTheRows) {
  TempFolder folder;
  const std::string input = make_inputs(folder);
  FeaturizeOptions one = options_for(input, folder / "one.parquet");
  one.threads = 1;
  one.batch = 1;
  FeaturizeOptions many = options_for(input, folder / "many.parquet");
  many.threads = 3;
  many.batch = 4;
  featurize(one);
  featurize(many);
  const std::vector<FeatureRow> a = read_rows(one.output);
  const std::vector<FeatureRow> b = read_rows(many.output);
  ASSERT_EQ(a.size(), static_cast<size_t>(kInputs));
  EXPECT_EQ(paths_of(a), paths_of(b));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_EQ(a[i].features, b[i].features) << a[i].path;
  }
}

}  // namespace
}  // namespace pomona
