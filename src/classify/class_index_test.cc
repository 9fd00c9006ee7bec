#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "pomona/classify.h"
#include "pomona/error.h"
#include "pomona/pca.h"
#include "pomona/table.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using testing::TempFolder;

constexpr int kDim = 32;

// Clusters: label c's rows are centre_c + noise, centres random unit-ish vectors.
std::vector<FeatureRow> clustered_rows(int classes, int per_class, uint32_t seed,
                                       float noise = 0.3f, int first_class = 0) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal;
  std::vector<FeatureRow> rows;
  for (int c = first_class; c < first_class + classes; ++c) {
    std::mt19937 centre_random(1000 + c);  // the same centre for a class in every call
    std::vector<float> centre(kDim);
    for (float& v : centre) v = 2.0f + normal(centre_random);
    for (int i = 0; i < per_class; ++i) {
      FeatureRow row;
      row.label = "class" + std::to_string(c);
      row.path = row.label + "/" + std::to_string(seed) + "_" + std::to_string(i) + ".jpg";
      for (float v : centre) row.features.push_back(std::max(0.0f, v + noise * normal(random)));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string write_rows(const TempFolder& folder, const std::string& name,
                       const std::vector<FeatureRow>& rows, int dim = kDim,
                       const std::string& weights_sha256 = "") {
  WriterOptions options;
  options.feature_dim = dim;
  if (!weights_sha256.empty()) options.metadata["pomona.weights_sha256"] = weights_sha256;
  const std::string path = folder / name;
  auto writer = RowWriter::open(path, options);
  for (const FeatureRow& row : rows) writer->append(row);
  writer->commit();
  return path;
}

IndexOptions test_options() {
  IndexOptions options;
  options.network = {1.0f, 224, std::string(64, 'a')};
  return options;
}

double top1(const ClassIndex& index, const std::vector<FeatureRow>& queries,
            ClassifyMethod method) {
  int correct = 0;
  for (const FeatureRow& row : queries) {
    correct += index.classify(row.features, method, 3).predictions.front().label == row.label;
  }
  return double(correct) / queries.size();
}

TEST(ClassIndex, separated_clusters_are_classified_by_both_methods) {
  TempFolder folder;
  auto index = ClassIndex::build(write_rows(folder, "train.parquet", clustered_rows(5, 20, 1)),
                                 test_options());
  const auto test = clustered_rows(5, 10, 2);
  EXPECT_EQ(top1(*index, test, ClassifyMethod::kNearestClassMean), 1.0);
  EXPECT_EQ(top1(*index, test, ClassifyMethod::kNearestNeighbours), 1.0);
  EXPECT_EQ(index->stats().references, 100);
  EXPECT_EQ(index->stats().classes, 5);
  EXPECT_EQ(index->stats().loo_top1_ncm, 1.0);
  EXPECT_FALSE(index->stats().approximate);
  const Answer answer = index->classify(test[0].features, ClassifyMethod::kNearestClassMean, 3);
  ASSERT_EQ(answer.predictions.size(), 3u);
  EXPECT_GT(answer.predictions[0].score, answer.predictions[1].score);
  EXPECT_FALSE(answer.unknown);
}

TEST(ClassIndex, threshold_rejects_about_the_quantile_of_known_and_most_unseen_classes) {
  TempFolder folder;
  IndexOptions options = test_options();
  options.reject_quantile = 0.1;
  auto index =
      ClassIndex::build(write_rows(folder, "train.parquet", clustered_rows(4, 50, 3)), options);
  int known_rejected = 0, unseen_rejected = 0;
  const auto known = clustered_rows(4, 50, 4);
  const auto unseen = clustered_rows(3, 50, 5, 0.3f, /*first_class=*/10);
  for (const auto& row : known)
    known_rejected += index->classify(row.features, ClassifyMethod::kNearestClassMean, 1).unknown;
  for (const auto& row : unseen)
    unseen_rejected += index->classify(row.features, ClassifyMethod::kNearestClassMean, 1).unknown;
  EXPECT_LE(known_rejected, 40);  // ~10 % of 200, with room for sampling noise
  EXPECT_GE(unseen_rejected, 140);
}

TEST(ClassIndex, save_and_load_give_the_same_answers_and_version_is_the_file_hash) {
  TempFolder folder;
  auto index = ClassIndex::build(write_rows(folder, "train.parquet", clustered_rows(3, 10, 6)),
                                 test_options());
  index->save(folder / "index.parquet");
  auto loaded = ClassIndex::load(folder / "index.parquet");
  EXPECT_EQ(loaded->version(), index->version());
  EXPECT_EQ(loaded->version().size(), 16u);
  EXPECT_EQ(loaded->network().weights_sha256, std::string(64, 'a'));
  EXPECT_EQ(loaded->stats().threshold_knn, index->stats().threshold_knn);
  for (const auto& row : clustered_rows(3, 5, 7)) {
    for (auto method : {ClassifyMethod::kNearestClassMean, ClassifyMethod::kNearestNeighbours}) {
      const Answer a = index->classify(row.features, method, 3);
      const Answer b = loaded->classify(row.features, method, 3);
      ASSERT_EQ(a.predictions.size(), b.predictions.size());
      for (size_t i = 0; i < a.predictions.size(); ++i) {
        EXPECT_EQ(a.predictions[i].label, b.predictions[i].label);
        EXPECT_NEAR(a.predictions[i].score, b.predictions[i].score, 1e-6);
      }
    }
  }
}

TEST(ClassIndex, merge_adds_a_class_without_touching_the_old_references) {
  TempFolder folder;
  auto old_index =
      ClassIndex::build(write_rows(folder, "a.parquet", clustered_rows(3, 10, 8)), test_options());
  old_index->save(folder / "old.parquet");
  IndexOptions options = test_options();
  options.merge_with = folder / "old.parquet";
  auto merged = ClassIndex::build(
      write_rows(folder, "b.parquet", clustered_rows(1, 10, 9, 0.3f, /*first_class=*/7)), options);
  EXPECT_EQ(merged->stats().references, 40);
  EXPECT_EQ(merged->stats().added_references, 10);
  EXPECT_EQ(merged->labels(), (std::vector<std::string>{"class0", "class1", "class2", "class7"}));
  EXPECT_EQ(top1(*merged, clustered_rows(3, 5, 10), ClassifyMethod::kNearestClassMean), 1.0);
  const auto new_class = clustered_rows(1, 5, 11, 0.3f, 7);
  EXPECT_EQ(top1(*merged, new_class, ClassifyMethod::kNearestNeighbours), 1.0);

  options.network.weights_sha256 = std::string(64, 'b');
  try {
    ClassIndex::build(folder / "b.parquet", options);
    FAIL() << "merged with other weights";
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfiguration);
    EXPECT_NE(std::string(e.what()).find("other weights"), std::string::npos) << e.what();
  }
}

TEST(ClassIndex, pca_space_gives_the_same_answers_on_separated_clusters) {
  TempFolder folder;
  const auto train = clustered_rows(4, 20, 12);
  PcaAccumulator accumulator(kDim);
  for (const auto& row : train) accumulator.add_row(row.features);
  PcaModel::fit(accumulator, {.k = 8}).save(folder / "pca.parquet");
  IndexOptions options = test_options();
  options.pca_model = folder / "pca.parquet";
  auto index = ClassIndex::build(write_rows(folder, "train.parquet", train), options);
  index->save(folder / "index.parquet");
  auto loaded = ClassIndex::load(folder / "index.parquet");
  EXPECT_EQ(top1(*loaded, clustered_rows(4, 10, 13), ClassifyMethod::kNearestClassMean), 1.0);
}

TEST(ClassIndex, hnsw_above_the_exact_limit_keeps_recall_and_answers) {
  TempFolder folder;
  IndexOptions options = test_options();
  options.exact_limit = 100;
  auto index =
      ClassIndex::build(write_rows(folder, "train.parquet", clustered_rows(6, 100, 14)), options);
  EXPECT_TRUE(index->stats().approximate);
  EXPECT_GE(index->stats().hnsw_recall, 0.9);
  EXPECT_EQ(top1(*index, clustered_rows(6, 10, 15), ClassifyMethod::kNearestNeighbours), 1.0);
}

void expect_bad_input(const std::string& features, const IndexOptions& options,
                      const std::string& says) {
  try {
    ClassIndex::build(features, options);
    FAIL() << "no error for " << says;
  } catch (const JobError& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(ClassIndex, bad_input_is_one_line_naming_the_problem) {
  TempFolder folder;
  auto unlabelled = clustered_rows(2, 3, 16);
  for (auto& row : unlabelled) row.label = "";
  expect_bad_input(write_rows(folder, "unlabelled.parquet", unlabelled), test_options(),
                   "has no label");
  expect_bad_input(write_rows(folder, "one.parquet", clustered_rows(1, 5, 17)), test_options(),
                   "only one label ('class0')");
  auto nan = clustered_rows(2, 3, 18);
  nan[4].features[7] = std::nanf("");
  expect_bad_input(write_rows(folder, "nan.parquet", nan), test_options(),
                   "row 4 (class1/18_1.jpg) has a NaN");
  auto errors = clustered_rows(2, 2, 19);
  for (auto& row : errors) {
    row.features.clear();
    row.error = "not an image";
  }
  expect_bad_input(write_rows(folder, "errors.parquet", errors), test_options(),
                   "no rows with features (4 error rows)");
  const std::string good = write_rows(folder, "good.parquet", clustered_rows(2, 5, 20));
  IndexOptions with_info = test_options();
  with_info.info = folder.write("info.csv", "label,name\nclass0,Apple\nclass9,Kiwi\n");
  expect_bad_input(good, with_info, "label 'class9', which the index does not have");
  PcaAccumulator accumulator(16);
  std::vector<float> row(16);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 16; ++j) row[j] = float(i * j % 5);
    accumulator.add_row(row);
  }
  PcaModel::fit(accumulator, {.k = 2}).save(folder / "pca16.parquet");
  IndexOptions with_pca = test_options();
  with_pca.pca_model = folder / "pca16.parquet";
  expect_bad_input(good, with_pca, "the PCA model");
}

TEST(ClassIndex, features_recording_other_weights_are_refused) {
  TempFolder folder;
  const auto rows = clustered_rows(2, 5, 23);
  EXPECT_EQ(ClassIndex::build(write_rows(folder, "same.parquet", rows, kDim, std::string(64, 'a')),
                              test_options())
                ->stats()
                .references,
            10);
  try {
    ClassIndex::build(write_rows(folder, "other.parquet", rows, kDim, std::string(64, 'c')),
                      test_options());
    FAIL() << "features of other weights indexed";
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfiguration);
    EXPECT_NE(std::string(e.what()).find("was made with other weights (sha256 cccccccccccc, "),
              std::string::npos)
        << e.what();
  }
}

TEST(ClassIndex, info_is_joined_on_the_label_as_json) {
  TempFolder folder;
  IndexOptions options = test_options();
  options.info =
      folder.write("info.csv", "label,display_name,calories\nclass0,\"Apple, \"\"Gala\"\"\",52\n");
  auto index =
      ClassIndex::build(write_rows(folder, "train.parquet", clustered_rows(2, 5, 21)), options);
  const Answer answer =
      index->classify(clustered_rows(1, 1, 22)[0].features, ClassifyMethod::kNearestClassMean, 2);
  EXPECT_EQ(answer.predictions[0].label, "class0");
  EXPECT_EQ(answer.predictions[0].info_json,
            R"({"display_name": "Apple, \"Gala\"", "calories": 52})");
  EXPECT_EQ(answer.predictions[1].info_json, "{}");
}

}  // namespace
}  // namespace pomona
