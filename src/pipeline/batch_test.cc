// ChunkFeaturizer, featurize_inputs (pomona/batch.h) and the chunk pool under them
// (chunk_pool.h), on a small network with seeded weights.
#include "pomona/batch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "chunk_pool.h"
#include "pomona/io.h"
#include "random_weights.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;
using testing::TempFolder;

const fs::path kImages = fs::path(POMONA_SOURCE_DIR) / "tests" / "fixtures" / "keras" / "images";
constexpr MobileNetV2Spec kSpec{.alpha = 0.35f, .size = 96};

std::unique_ptr<FeatureExtractor> small_network(int batch) {
  return FeatureExtractor::create(model::random_mobilenet_v2_weights(kSpec, 17), kSpec, batch);
}

std::vector<uint8_t> bytes_of(const fs::path& path) {
  Result<std::vector<uint8_t>> bytes = read_bytes(path.string());
  EXPECT_TRUE(bytes.ok()) << bytes.error();
  return bytes.ok() ? std::move(bytes.value()) : std::vector<uint8_t>();
}

std::vector<BatchInput> inputs_by_path(const std::vector<std::string>& names) {
  std::vector<BatchInput> inputs;
  for (const std::string& name : names) {
    BatchInput& input = inputs.emplace_back();
    input.path = (kImages / name).string();
    input.label = name;
  }
  return inputs;
}

TEST(ChunkFeaturizer, ImageGivenByPathOrByBytesGivesTheSameRow) {
  const auto network = small_network(2);
  ChunkFeaturizer featurizer(*network);
  const fs::path image = kImages / "rgb_100x100.jpg";
  const std::vector<uint8_t> bytes = bytes_of(image);
  std::vector<BatchInput> inputs = inputs_by_path({"rgb_100x100.jpg", "in-memory.jpg"});
  inputs[1].label = "b";
  inputs[1].path = "in-memory.jpg";
  inputs[1].bytes = bytes;
  const std::vector<FeatureRow> rows = featurizer.run(inputs);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].path, image.string());
  EXPECT_EQ(rows[1].path, "in-memory.jpg");
  EXPECT_EQ(rows[1].label, "b");
  ASSERT_FALSE(rows[0].error) << *rows[0].error;
  ASSERT_EQ(rows[0].features.size(), static_cast<size_t>(network->feature_dim()));
  EXPECT_EQ(rows[0].features, rows[1].features);
}

TEST(ChunkFeaturizer, UnreadableAndUndecodableInputsAreErrorRowsBetweenGoodOnes) {
  const auto network = small_network(4);
  ChunkFeaturizer featurizer(*network);
  TempFolder folder;
  const std::string missing = folder / "missing.jpg";
  const std::string text = "not an image";
  std::vector<BatchInput> inputs =
      inputs_by_path({"rgb_100x100.jpg", "missing.jpg", "text.jpg", "grey_96x96.png"});
  inputs[1].path = missing;
  inputs[2].bytes = std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  const std::vector<FeatureRow> rows = featurizer.run(inputs);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_FALSE(rows[0].error);
  EXPECT_EQ(rows[1].error, "cannot read " + missing + ": No such file or directory");
  EXPECT_TRUE(rows[1].features.empty());
  ASSERT_TRUE(rows[2].error);
  EXPECT_TRUE(rows[2].features.empty());
  EXPECT_FALSE(rows[3].error);
  // The good rows are the ones a chunk of only them gives: the failed inputs took no slot.
  const std::vector<FeatureRow> good =
      featurizer.run(std::vector<BatchInput>{inputs[0], inputs[3]});
  EXPECT_EQ(rows[0].features, good[0].features);
  EXPECT_EQ(rows[3].features, good[1].features);
}

TEST(FeaturizeInputs, RowsComeInInputOrderWhateverTheThreadCount) {
  const auto network = small_network(2);
  const std::vector<BatchInput> inputs =
      inputs_by_path({"rgb_100x100.jpg", "grey_96x96.png", "cmyk_80x80.jpg", "missing.jpg",
                      "palette_128x72.png", "grey_90x110.jpg", "rgb_224x224.jpg"});
  const std::vector<FeatureRow> one = featurize_inputs(*network, inputs, 1);
  const std::vector<FeatureRow> three = featurize_inputs(*network, inputs, 3);
  ASSERT_EQ(one.size(), inputs.size());
  ASSERT_EQ(three.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(one[i].path, inputs[i].path);
    EXPECT_EQ(three[i].path, inputs[i].path);
    EXPECT_EQ(one[i].label, inputs[i].label);
    EXPECT_EQ(one[i].error, three[i].error) << inputs[i].path;
    EXPECT_EQ(one[i].features, three[i].features) << inputs[i].path;
  }
  EXPECT_TRUE(one[3].error);
  EXPECT_FALSE(one[6].error);
}

// Inputs whose bytes are no image: rows come back with decode errors, without the network.
class NotImages final : public InputSource {
 public:
  explicit NotImages(int64_t count) : count_(count) {}
  int64_t size() const override { return count_; }
  FeatureRow row(int64_t i) const override {
    FeatureRow row;
    row.path = std::to_string(i);
    row.size = i;
    return row;
  }
  Result<std::span<const uint8_t>> bytes(int64_t, std::vector<uint8_t>& buffer) override {
    buffer.assign(16, 'x');
    return std::span<const uint8_t>(buffer);
  }
  void cancel() override { ++cancels; }
  std::atomic<int> cancels{0};

 private:
  const int64_t count_;
};

TEST(RunChunks, HandsEveryRowOverOnceInInputOrder) {
  const auto network = small_network(3);
  NotImages source(20);
  std::vector<std::string> taken;
  const bool complete = run_chunks(*network, source, {.threads = 4}, [&](auto& rows) {
    EXPECT_LE(rows.size(), 3u);
    for (const FeatureRow& row : rows) {
      EXPECT_TRUE(row.error);
      EXPECT_EQ(row.size, std::stoll(row.path));  // the source's row, completed
      taken.push_back(row.path);
    }
  });
  EXPECT_TRUE(complete);
  ASSERT_EQ(taken.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(taken[i], std::to_string(i));
}

TEST(RunChunks, StopBeforeTheRunTakesNothing) {
  const auto network = small_network(2);
  NotImages source(10);
  const std::atomic<bool> stop{true};
  int chunks = 0;
  EXPECT_FALSE(
      run_chunks(*network, source, {.threads = 2, .stop = &stop}, [&](auto&) { ++chunks; }));
  EXPECT_EQ(chunks, 0);
}

TEST(RunChunks, StopDuringTheRunTakesAPrefixOfWholeChunks) {
  const auto network = small_network(2);
  NotImages source(400);
  std::atomic<bool> stop{false};
  std::vector<std::string> taken;
  const bool complete =
      run_chunks(*network, source, {.threads = 3, .stop = &stop}, [&](auto& rows) {
        for (const FeatureRow& row : rows) taken.push_back(row.path);
        stop = true;
      });
  EXPECT_FALSE(complete);
  ASSERT_GE(taken.size(), 2u);
  EXPECT_LT(taken.size(), 400u);
  EXPECT_EQ(taken.size() % 2, 0u);
  for (size_t i = 0; i < taken.size(); ++i) EXPECT_EQ(taken[i], std::to_string(i));
  EXPECT_EQ(source.cancels, 1);  // a worker waiting for bytes would have been released
}

TEST(RunChunks, WhatTheTakerThrowsComesOutOnceTheWorkersStopped) {
  const auto network = small_network(1);
  NotImages source(200);
  EXPECT_THROW(run_chunks(*network, source, {.threads = 2},
                          [&](auto&) { throw std::runtime_error("disk full"); }),
               std::runtime_error);
  EXPECT_EQ(source.cancels, 1);
}

}  // namespace
}  // namespace pomona
