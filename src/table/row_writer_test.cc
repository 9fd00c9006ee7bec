#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/table.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "names_in_folder_for_tests.h"
#include "pomona/error.h"
#include "pomona/table.h"
#include "pomona/table_arrow.h"
#include "temp_folder_for_tests.h"

namespace pomona {

bool operator==(const FeatureRow& a, const FeatureRow& b) {
  return a.path == b.path && a.label == b.label && a.features == b.features && a.error == b.error;
}

void PrintTo(const FeatureRow& row, std::ostream* out) {
  *out << "{" << row.path << ", " << row.label << ", " << row.features.size() << " features, "
       << row.error.value_or("no error") << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::names_in;
using ::testing::Not;
using testing::TempFolder;

constexpr int kDim = 4;

// Row i: features i + j/8 (exact in float), or an error instead for every third row.
std::vector<FeatureRow> sample_rows(int count) {
  std::vector<FeatureRow> rows;
  for (int i = 0; i < count; ++i) {
    FeatureRow& row = rows.emplace_back();
    row.label = i % 2 ? "\xC3\x84pfel" : "Banana Lady Finger";
    row.path = "/data/" + row.label + "/img " + std::to_string(i) + ".jpg";
    if (i % 3 == 2) {
      row.error = "cannot decode " + row.path + ": not a JPEG";
    } else {
      for (int j = 0; j < kDim; ++j) row.features.push_back(i + j / 8.0f);
    }
  }
  return rows;
}

WriterOptions small_options() {
  WriterOptions options;
  options.feature_dim = kDim;
  return options;
}

std::vector<std::string> write_rows(const std::string& output, const std::vector<FeatureRow>& rows,
                                    const WriterOptions& options = small_options()) {
  auto writer = RowWriter::open(output, options);
  for (const FeatureRow& row : rows) writer->append(row);
  return writer->commit();
}

// Every name in folder, hidden ones included, sorted.
std::unique_ptr<parquet::arrow::FileReader> open_parquet(const std::string& path) {
  auto input = arrow::io::ReadableFile::Open(path).ValueOrDie();
  return parquet::arrow::OpenFile(input, arrow::default_memory_pool()).ValueOrDie();
}

std::string contents_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(RowWriter, SingleFileRoundTripsRowsErrorsAndNonAsciiNames) {
  TempFolder folder;
  const std::string output = folder / "features.parquet";
  const std::vector<FeatureRow> rows = sample_rows(7);

  EXPECT_THAT(write_rows(output, rows), ElementsAre(output));

  EXPECT_EQ(read_rows(output), rows);
  EXPECT_THAT(names_in(folder.path()), ElementsAre("features.parquet"));
}

TEST(RowWriter, ErrorRowsHaveNullFeaturesAndFineRowsNullError) {
  TempFolder folder;
  const std::string output = folder / "features.parquet";
  write_rows(output, sample_rows(3));

  const std::shared_ptr<arrow::Table> table = open_parquet(output)->ReadTable().ValueOrDie();
  EXPECT_EQ(table->GetColumnByName("features")->null_count(), 1);
  EXPECT_EQ(table->GetColumnByName("error")->null_count(), 2);
  EXPECT_TRUE(table->GetColumnByName("features")->chunk(0)->IsNull(2));
  EXPECT_TRUE(table->GetColumnByName("error")->chunk(0)->IsValid(2));
}

TEST(RowWriter, SchemaHasTypedColumnsAndPomonaMetadata) {
  TempFolder folder;
  const std::string output = folder / "features.parquet";
  WriterOptions options = small_options();
  options.metadata["pomona.model"] = "mobilenet_v2_1.00_224";
  write_rows(output, sample_rows(2), options);

  std::shared_ptr<arrow::Schema> schema;
  ASSERT_TRUE(open_parquet(output)->GetSchema(&schema).ok());
  EXPECT_TRUE(schema->Equals(arrow::schema({arrow::field("path", arrow::utf8(), false),
                                            arrow::field("label", arrow::utf8()),
                                            arrow::field("features", arrow::list(arrow::float32())),
                                            arrow::field("error", arrow::utf8())})))
      << schema->ToString();
  const auto& metadata = *schema->metadata();
  EXPECT_EQ(metadata.Get("pomona.feature_dim").ValueOr(""), "4");
  EXPECT_EQ(metadata.Get("pomona.model").ValueOr(""), "mobilenet_v2_1.00_224");
  EXPECT_EQ(metadata.Get("pomona.version").ValueOr(""), POMONA_VERSION);
}

TEST(RowWriter, WritesRowGroupsOfRowsPerGroup) {
  TempFolder folder;
  const std::string output = folder / "features.parquet";
  WriterOptions options = small_options();
  options.rows_per_group = 2;
  write_rows(output, sample_rows(5), options);

  const auto reader = open_parquet(output);
  ASSERT_EQ(reader->num_row_groups(), 3);
  EXPECT_EQ(reader->parquet_reader()->metadata()->RowGroup(0)->num_rows(), 2);
  EXPECT_EQ(reader->parquet_reader()->metadata()->RowGroup(2)->num_rows(), 1);
  EXPECT_EQ(read_rows(output), sample_rows(5));
}

TEST(RowWriter, SameRowsGiveByteIdenticalFiles) {
  TempFolder folder;
  write_rows(folder / "a.parquet", sample_rows(9));
  write_rows(folder / "b.parquet", sample_rows(9));

  EXPECT_EQ(contents_of(folder / "a.parquet"), contents_of(folder / "b.parquet"));
}

TEST(PartFileWriter, WritesTheBytesRowWriterWritesAndNothingBeforePublish) {
  TempFolder folder;
  write_rows(folder / "row_writer.parquet", sample_rows(9));
  // Batches as a Spark task gets them: the first row of the second one is an error.
  RowBatchBuilder batches(small_options());
  PartFileWriter writer(folder / "part.parquet", WriterOptions{});
  const std::vector<FeatureRow> rows = sample_rows(9);
  for (size_t i = 0; i < rows.size(); ++i) {
    batches.append(rows[i]);
    if (i == 1 || i + 1 == rows.size()) writer.append(*batches.finish());
  }
  EXPECT_EQ(writer.rows(), 9);
  EXPECT_FALSE(std::filesystem::exists(folder / "part.parquet"));
  writer.publish();
  EXPECT_EQ(contents_of(folder / "part.parquet"), contents_of(folder / "row_writer.parquet"));
}

TEST(PartFileWriter, ErrorRowsFirstWaitForTheFirstFeaturesAndAPcaColumnIsKept) {
  TempFolder folder;
  WriterOptions with_pca = small_options();
  with_pca.pca_dim = 2;
  RowBatchBuilder batches(with_pca);
  std::vector<FeatureRow> rows = sample_rows(3);
  rows[0].error = "cannot decode";
  rows[0].features.clear();
  rows[1].pca = {1.5f, -2.0f};
  for (const FeatureRow& row : rows) batches.append(row);
  PartFileWriter writer(folder / "part.parquet", WriterOptions{});
  writer.append(*batches.finish());
  writer.publish();
  const std::shared_ptr<arrow::Table> table =
      open_parquet(folder / "part.parquet")->ReadTable().ValueOrDie();
  EXPECT_EQ(table->num_rows(), 3);
  EXPECT_EQ(table->schema()->metadata()->Get("pomona.feature_dim").ValueOr(""), "4");
  EXPECT_EQ(table->GetColumnByName("pca")->null_count(), 2);
  EXPECT_EQ(read_rows(folder / "part.parquet"), rows);
}

TEST(RowWriter, FolderGetsPartFilesOfRowsPerFileThenSuccess) {
  TempFolder folder;
  const std::string output = folder / "out";
  WriterOptions options = small_options();
  options.rows_per_file = 3;
  const std::vector<FeatureRow> rows = sample_rows(7);

  EXPECT_THAT(write_rows(output, rows, options),
              ElementsAre(output + "/part-00000.parquet", output + "/part-00001.parquet",
                          output + "/part-00002.parquet", output + "/_SUCCESS"));

  EXPECT_THAT(names_in(output), ElementsAre("_SUCCESS", "part-00000.parquet", "part-00001.parquet",
                                            "part-00002.parquet"));
  EXPECT_EQ(read_rows(output + "/part-00001.parquet"),
            std::vector<FeatureRow>(rows.begin() + 3, rows.begin() + 6));
  EXPECT_EQ(read_rows(output), rows);
}

TEST(RowWriter, FolderWithWholeNumberOfFilesGetsNoEmptyExtraPart) {
  TempFolder folder;
  WriterOptions options = small_options();
  options.rows_per_file = 3;
  write_rows(folder / "out", sample_rows(6), options);

  EXPECT_THAT(names_in(folder / "out"),
              ElementsAre("_SUCCESS", "part-00000.parquet", "part-00001.parquet"));
}

TEST(RowWriter, ZeroRowsStillPublishOneFileWithTheSchema) {
  TempFolder folder;
  write_rows(folder / "out", {});

  EXPECT_THAT(names_in(folder / "out"), ElementsAre("_SUCCESS", "part-00000.parquet"));
  EXPECT_TRUE(read_rows(folder / "out").empty());
}

TEST(RowWriter, NothingIsVisibleBeforeCommit) {
  TempFolder folder;
  auto writer = RowWriter::open(folder / "features.parquet", small_options());
  for (const FeatureRow& row : sample_rows(3)) writer->append(row);

  EXPECT_FALSE(std::filesystem::exists(folder / "features.parquet"));
  const std::vector<std::string> names = names_in(folder.path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].rfind(".features.parquet.tmp-", 0), 0u) << names[0];
}

TEST(RowWriter, DestroyedWithoutCommitLeavesNoFile) {
  TempFolder folder;
  {
    auto writer = RowWriter::open(folder / "features.parquet", small_options());
    for (const FeatureRow& row : sample_rows(3)) writer->append(row);
  }
  EXPECT_THAT(names_in(folder.path()), ::testing::IsEmpty());
}

TEST(RowWriter, FolderDestroyedWithoutCommitKeepsFullPartsButNoTempOrSuccess) {
  TempFolder folder;
  WriterOptions options = small_options();
  options.rows_per_file = 2;
  {
    auto writer = RowWriter::open(folder / "out", options);
    for (const FeatureRow& row : sample_rows(3)) writer->append(row);
  }
  EXPECT_THAT(names_in(folder / "out"), ElementsAre("part-00000.parquet"));
}

TEST(RowWriter, RewritingAFolderReplacesThePreviousResultOnly) {
  TempFolder folder;
  WriterOptions options = small_options();
  options.rows_per_file = 3;
  write_rows(folder / "out", sample_rows(7), options);
  folder.write("out/notes.txt", "keep me");

  write_rows(folder / "out", sample_rows(2), options);

  EXPECT_THAT(names_in(folder / "out"), ElementsAre("_SUCCESS", "notes.txt", "part-00000.parquet"));
  EXPECT_EQ(read_rows(folder / "out"), sample_rows(2));
}

TEST(RowWriter, ExistingFolderNamedDotParquetStaysAFolder) {
  TempFolder folder;
  std::filesystem::create_directory(folder / "spark.parquet");
  write_rows(folder / "spark.parquet", sample_rows(2));

  EXPECT_THAT(names_in(folder / "spark.parquet"), ElementsAre("_SUCCESS", "part-00000.parquet"));
}

TEST(RowWriter, SingleFileReplacesAPreviousFileAtCommit) {
  TempFolder folder;
  write_rows(folder / "features.parquet", sample_rows(5));
  write_rows(folder / "features.parquet", sample_rows(2));

  EXPECT_EQ(read_rows(folder / "features.parquet"), sample_rows(2));
}

TEST(RowWriter, UnwritableOutputIsAnInputOutputErrorNamingIt) {
  TempFolder folder;
  // A file where a folder should be stops root as well as anyone.
  const std::string blocker = folder.write("blocker", "");
  for (const std::string& output : {blocker + "/features.parquet", blocker + "/out"}) {
    try {
      RowWriter::open(output, small_options());
      ADD_FAILURE() << "expected JobError for " << output;
    } catch (const JobError& error) {
      EXPECT_EQ(error.code(), ExitCode::kInputOutput);
      EXPECT_THAT(error.what(), HasSubstr(blocker));
      EXPECT_THAT(error.what(), Not(HasSubstr("\n")));
    }
  }
}

TEST(RowWriter, FeaturesOfTheWrongLengthAreAConfigurationError) {
  TempFolder folder;
  auto writer = RowWriter::open(folder / "features.parquet", small_options());
  FeatureRow row;
  row.path = "/data/a.jpg";
  row.features = {1.0f, 2.0f};
  try {
    writer->append(row);
    FAIL() << "expected JobError";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kConfiguration);
    EXPECT_THAT(error.what(), HasSubstr("/data/a.jpg has 2 features, the table expects 4"));
  }
}

TEST(ReadRows, SkipsHiddenAndUnderscoreFilesOfAFolder) {
  TempFolder folder;
  write_rows(folder / "out", sample_rows(2));
  write_rows(folder / "out/.hidden.parquet", sample_rows(4));
  write_rows(folder / "out/_extra.parquet", sample_rows(4));

  EXPECT_EQ(read_rows(folder / "out"), sample_rows(2));
}

TEST(ReadRows, MissingFileIsAnInputOutputErrorNamingIt) {
  TempFolder folder;
  try {
    read_rows(folder / "missing.parquet");
    FAIL() << "expected JobError";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kInputOutput);
    EXPECT_THAT(error.what(), HasSubstr(folder / "missing.parquet"));
  }
}

}  // namespace
}  // namespace pomona
