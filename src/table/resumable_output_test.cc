#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "names_in_folder_for_tests.h"
#include "pomona/error.h"
#include "pomona/table.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::names_in;
using ::testing::Not;
using testing::TempFolder;

constexpr int kDim = 2;

// Rows "/in/<i>.jpg" for i in [begin, end): size i, mtime 1000 + i, features {i, -i}; i = 3 fails.
std::vector<FeatureRow> rows_of(int begin, int end) {
  std::vector<FeatureRow> rows;
  for (int i = begin; i < end; ++i) {
    FeatureRow& row = rows.emplace_back();
    row.path = "/in/" + std::to_string(i) + ".jpg";
    row.size = i;
    row.mtime_ns = 1000 + i;
    if (i == 3) {
      row.error = "not a JPEG";
    } else {
      row.features = {static_cast<float>(i), static_cast<float>(-i)};
    }
  }
  return rows;
}

WriterOptions options_of(int64_t rows_per_file) {
  WriterOptions options;
  options.feature_dim = kDim;
  options.rows_per_file = rows_per_file;
  return options;
}

std::vector<std::string> append_and_commit(ResumableOutput& output,
                                           const std::vector<FeatureRow>& rows) {
  auto writer = output.writer();
  for (const FeatureRow& row : rows) writer->append(row);
  return writer->commit();
}

std::vector<std::string> paths_of(const std::vector<FeatureRow>& rows) {
  std::vector<std::string> paths;
  for (const FeatureRow& row : rows) paths.push_back(row.path);
  return paths;
}

std::vector<std::string> committed_paths(const ResumableOutput& output) {
  std::vector<std::string> paths;
  for (const CommittedInput& input : output.committed()) paths.push_back(input.path);
  return paths;
}

TEST(ResumableOutput, ReopenedFolderListsCommittedInputsAndContinuesPartNumbers) {
  TempFolder folder;
  const std::string out = folder / "out";
  append_and_commit(*ResumableOutput::open(out, options_of(2), false), rows_of(0, 5));

  auto reopened = ResumableOutput::open(out, options_of(2), false);
  ASSERT_EQ(reopened->committed().size(), 5u);
  const CommittedInput& failed = reopened->committed()[3];
  EXPECT_EQ(failed.path, "/in/3.jpg");
  EXPECT_EQ(failed.size, 3);
  EXPECT_EQ(failed.mtime_ns, 1003);
  EXPECT_TRUE(failed.failed);
  EXPECT_FALSE(reopened->committed()[2].failed);
  EXPECT_THAT(append_and_commit(*reopened, rows_of(5, 6)),
              ElementsAre(out + "/part-00003.parquet", out + "/_SUCCESS"));

  const std::vector<FeatureRow> rows = read_rows(out);
  EXPECT_EQ(paths_of(rows), paths_of(rows_of(0, 6)));
  EXPECT_EQ(rows[4].size, 4);
  EXPECT_EQ(rows[4].mtime_ns, 1004);
}

TEST(ResumableOutput, ReopeningWithNothingNewPublishesNoEmptyPart) {
  TempFolder folder;
  append_and_commit(*ResumableOutput::open(folder / "out", options_of(10), false), rows_of(0, 3));
  append_and_commit(*ResumableOutput::open(folder / "out", options_of(10), false), {});

  EXPECT_THAT(names_in(folder / "out"),
              ElementsAre("_SUCCESS", "_pomona_manifest.jsonl", "part-00000.parquet"));
}

TEST(ResumableOutput, PartsAndTempFilesMissingFromTheManifestAreRemovedOnOpen) {
  TempFolder folder;
  const std::string out = folder / "out";
  append_and_commit(*ResumableOutput::open(out, options_of(2), false), rows_of(0, 2));
  // What a run killed between a part's rename and its manifest line, or mid-part, leaves.
  std::filesystem::copy_file(out + "/part-00000.parquet", out + "/part-00001.parquet");
  folder.write("out/.part-00002.parquet.tmp-4242", "half a file");
  folder.write("out/notes.txt", "keep me");

  auto reopened = ResumableOutput::open(out, options_of(2), false);

  EXPECT_THAT(committed_paths(*reopened), ElementsAre("/in/0.jpg", "/in/1.jpg"));
  EXPECT_THAT(names_in(out),
              ElementsAre("_pomona_manifest.jsonl", "notes.txt", "part-00000.parquet"));
}

TEST(ResumableOutput, DropRowsOfRewritesTouchedPartsAndRemovesEmptiedOnes) {
  TempFolder folder;
  const std::string out = folder / "out";
  append_and_commit(*ResumableOutput::open(out, options_of(2), false), rows_of(0, 6));
  auto reopened = ResumableOutput::open(out, options_of(2), false);

  reopened->drop_rows_of({"/in/1.jpg", "/in/2.jpg", "/in/3.jpg"});

  EXPECT_THAT(committed_paths(*reopened), ElementsAre("/in/0.jpg", "/in/4.jpg", "/in/5.jpg"));
  EXPECT_THAT(names_in(out),
              ElementsAre("_pomona_manifest.jsonl", "part-00000.parquet", "part-00002.parquet"));
  append_and_commit(*reopened, rows_of(2, 4));
  EXPECT_THAT(paths_of(read_rows(out)),
              ElementsAre("/in/0.jpg", "/in/4.jpg", "/in/5.jpg", "/in/2.jpg", "/in/3.jpg"));
  auto again = ResumableOutput::open(out, options_of(2), false);
  EXPECT_EQ(again->committed().size(), 5u);
}

TEST(ResumableOutput, OverwriteStartsAfresh) {
  TempFolder folder;
  const std::string out = folder / "out";
  append_and_commit(*ResumableOutput::open(out, options_of(2), false), rows_of(0, 5));

  auto fresh = ResumableOutput::open(out, options_of(2), true);
  EXPECT_TRUE(fresh->committed().empty());
  append_and_commit(*fresh, rows_of(7, 8));
  EXPECT_THAT(paths_of(read_rows(out)), ElementsAre("/in/7.jpg"));
  EXPECT_THAT(names_in(out),
              ElementsAre("_SUCCESS", "_pomona_manifest.jsonl", "part-00000.parquet"));
}

TEST(ResumableOutput, PartialCommitPublishesTheOpenPartWithoutSuccess) {
  TempFolder folder;
  const std::string out = folder / "out";
  auto writer = ResumableOutput::open(out, options_of(2), false)->writer();
  for (const FeatureRow& row : rows_of(0, 3)) writer->append(row);

  EXPECT_THAT(writer->commit_partial(),
              ElementsAre(out + "/part-00000.parquet", out + "/part-00001.parquet"));
  EXPECT_THAT(names_in(out),
              ElementsAre("_pomona_manifest.jsonl", "part-00000.parquet", "part-00001.parquet"));
  EXPECT_EQ(ResumableOutput::open(out, options_of(2), false)->committed().size(), 3u);
}

TEST(ResumableOutput, AManifestPomonaDidNotWriteIsAConfigurationErrorSuggestingOverwrite) {
  TempFolder folder;
  folder.write("out/_pomona_manifest.jsonl", "{\"file\": \"../../etc/passwd\", \"rows\": 1}\n");
  try {
    ResumableOutput::open(folder / "out", options_of(2), false);
    FAIL() << "expected JobError";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kConfiguration);
    EXPECT_THAT(error.what(), HasSubstr("replace the output to start it afresh"));
    EXPECT_THAT(error.what(), Not(HasSubstr("--")));  // the CLI names --overwrite, Python its own
    EXPECT_EQ(error.setting(), Setting::kOverwrite);
  }
}

TEST(ResumableOutput, PartsWithoutIdentityColumnsAreAConfigurationError) {
  TempFolder folder;
  const std::string out = folder / "out";
  append_and_commit(*ResumableOutput::open(out, options_of(10), false), rows_of(0, 1));
  // A plain RowWriter part under a manifest line, as if another tool wrote it.
  auto plain = RowWriter::open(folder / "plain.parquet", options_of(10));
  for (const FeatureRow& row : rows_of(0, 1)) plain->append(row);
  plain->commit();
  std::filesystem::copy_file(folder / "plain.parquet", out + "/part-00000.parquet",
                             std::filesystem::copy_options::overwrite_existing);
  try {
    ResumableOutput::open(out, options_of(10), false);
    FAIL() << "expected JobError";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kConfiguration);
    EXPECT_THAT(error.what(), HasSubstr("no column size"));
  }
}

TEST(PublishParts, ListsThePartsThenSuccessAndRemovesEverythingElseBelow) {
  TempFolder folder;
  const std::string out = folder / "out";
  folder.write("out/_SUCCESS", "");
  folder.write("out/part-00000-old-1.parquet", "an earlier run's part");
  folder.write("out/part-00000-job-7.parquet", "a task's part");
  folder.write("out/part-00001-job-8.parquet", "a failed attempt's part");
  folder.write("out/_temporary/0/x", "");
  unpublish(out);
  EXPECT_THAT(names_in(out), ElementsAre("_temporary", "part-00000-job-7.parquet",
                                         "part-00000-old-1.parquet", "part-00001-job-8.parquet"));
  publish_parts(out, {{"part-00000-job-7.parquet", 12}});
  EXPECT_THAT(names_in(out),
              ElementsAre("_SUCCESS", "_pomona_manifest.jsonl", "part-00000-job-7.parquet"));
  const std::vector<ManifestEntry> manifest = read_manifest(out);
  ASSERT_EQ(manifest.size(), 1u);
  EXPECT_EQ(manifest[0].file, "part-00000-job-7.parquet");
  EXPECT_EQ(manifest[0].rows, 12);
  EXPECT_TRUE(read_manifest(folder / "none").empty());
}

}  // namespace
}  // namespace pomona
