#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "pomona/io.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempFolder;

std::vector<std::string> uris_under(const TempFolder& root, const std::vector<ObjectInfo>& found) {
  const std::string prefix = root.path().string() + "/";
  std::vector<std::string> relative;
  for (const ObjectInfo& info : found) {
    EXPECT_EQ(info.uri.rfind(prefix, 0), 0u) << info.uri;
    relative.push_back(info.uri.substr(prefix.size()));
  }
  return relative;
}

std::vector<std::string> list_relative(const TempFolder& root, const ListOptions& options = {}) {
  return uris_under(root, list_inputs(root.path().string(), options));
}

TEST(ListInputs, ListsMatchingFilesInEveryFolderSortedByByteOrder) {
  TempFolder root;
  root.write("Cucumber Ripe/b.jpg", "b");
  root.write("Banana Lady Finger/z.png", "z");
  root.write("Banana Lady Finger/a.JPG", "a");
  root.write("\xC3\x84pfel/deep/er/c.jpeg", "c");  // "Äpfel" in UTF-8 sorts after ASCII
  root.write("Cucumber Ripe/notes.txt", "not an image");

  EXPECT_THAT(list_relative(root),
              ElementsAre("Banana Lady Finger/a.JPG", "Banana Lady Finger/z.png",
                          "Cucumber Ripe/b.jpg", "\xC3\x84pfel/deep/er/c.jpeg"));
}

TEST(ListInputs, ReportsSizeAndModificationTime) {
  TempFolder root;
  const std::string file = root.write("Apple/a.jpg", "twelve bytes");
  const timespec times[2] = {{1'600'000'000, 123'456'789}, {1'600'000'000, 123'456'789}};
  ASSERT_EQ(utimensat(AT_FDCWD, file.c_str(), times, 0), 0);

  const std::vector<ObjectInfo> found = list_inputs(root.path().string(), {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].uri, file);
  EXPECT_EQ(found[0].size, 12);
  EXPECT_EQ(found[0].mtime_ns, 1'600'000'000'123'456'789);
}

TEST(ListInputs, GlobsIgnoreCaseAndMatchTheFileNameOnly) {
  TempFolder root;
  root.write("photos.jpeg/readme.txt", "");
  root.write("photos.jpeg/A.JPEG", "");
  root.write("b.Jpeg", "");
  root.write("c.jpg", "");

  EXPECT_THAT(list_relative(root, {.globs = {"*.jpeg"}}),
              ElementsAre("b.Jpeg", "photos.jpeg/A.JPEG"));
}

TEST(ListInputs, SkipsNamesStartingWithDotOrUnderscoreLikeSpark) {
  TempFolder root;
  root.write("Apple/.hidden.jpg", "");
  root.write("Apple/._a.jpg", "");  // macOS resource fork beside a.jpg
  root.write("Apple/_partial.jpg", "");
  root.write(".ipynb_checkpoints/copy.jpg", "");
  root.write("_temporary/part.jpg", "");
  root.write("Apple/a.jpg", "");

  EXPECT_THAT(list_relative(root), ElementsAre("Apple/a.jpg"));
  ListReport report;
  list_inputs(root.path().string(), {}, &report);
  const std::string base = root.path().string() + "/";
  EXPECT_THAT(report.hidden, ElementsAre(base + ".ipynb_checkpoints", base + "Apple/._a.jpg",
                                         base + "Apple/.hidden.jpg", base + "Apple/_partial.jpg",
                                         base + "_temporary"))
      << "every skipped name is reported";
  EXPECT_TRUE(report.unreadable.empty());
}

TEST(ListInputs, FifoAsRootIsNamedForWhatItIs) {
  TempFolder root;
  const std::string fifo = root / "pipe";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  try {
    list_inputs(fifo, {});
    FAIL() << "a FIFO was listed";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kInputOutput);
    EXPECT_EQ(std::string(error.what()),
              "input " + fifo +
                  " is neither a folder nor a regular file (a FIFO, socket or device?): give a "
                  "folder of images or one image");
  }
}

TEST(ListInputs, RootMayBeOneFileListedWhateverItsName) {
  TempFolder root;
  const std::string file = root.write("Kiwi/scan.tiff", "1234");

  const std::vector<ObjectInfo> found = list_inputs(file, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].uri, file);
  EXPECT_EQ(found[0].size, 4);
}

TEST(ListInputs, TrailingSlashOnRootDoesNotDoubleSlashes) {
  TempFolder root;
  root.write("Apple/a.jpg", "");

  const std::vector<ObjectInfo> found = list_inputs(root.path().string() + "//", {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].uri, root / "Apple/a.jpg");
}

TEST(ListInputs, RelativeRootGivesRelativeUris) {
  TempFolder root;
  root.write("train/Apple/a.jpg", "");
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(root.path());

  const std::vector<ObjectInfo> found = list_inputs("train", {});
  std::filesystem::current_path(previous);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].uri, "train/Apple/a.jpg");
}

TEST(ListInputs, EmptyFolderListsNothing) {
  TempFolder root;
  EXPECT_TRUE(list_inputs(root.path().string(), {}).empty());
}

TEST(ListInputs, MissingRootThrowsInputOutputErrorNamingIt) {
  TempFolder root;
  const std::string missing = root / "no such folder";
  try {
    list_inputs(missing, {});
    FAIL() << "expected JobError";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kInputOutput);
    EXPECT_THAT(error.what(), HasSubstr("input folder not found: " + missing));
    EXPECT_THAT(error.what(), Not(HasSubstr("\n")));
  }
}

TEST(ListInputs, FollowsSymlinkedFoldersAndSkipsLoopsAndBrokenLinks) {
  TempFolder root;
  root.write("a.jpg", "");
  root.write("real/c.jpg", "");
  root.write("sub/b.jpg", "");
  std::filesystem::create_directory_symlink(root.path() / "real", root.path() / "linked");
  std::filesystem::create_directory_symlink("..", root.path() / "sub/loop");
  std::filesystem::create_directory_symlink(".", root.path() / "sub/self");
  std::filesystem::create_symlink(root / "gone.jpg", root.path() / "broken.jpg");
  std::filesystem::create_symlink(root / "a.jpg", root.path() / "alias.jpg");

  EXPECT_THAT(list_relative(root),
              ElementsAre("a.jpg", "alias.jpg", "linked/c.jpg", "real/c.jpg", "sub/b.jpg"));
}

// Runs in the death test's child, as user nobody: 0 when the locked subfolder was skipped and the
// locked folder given as root was rejected.
int list_with_locked_folder(const TempFolder& root) {
  if (!testing::drop_root_privileges()) return 2;
  if (list_relative(root) != std::vector<std::string>{"Apple/a.jpg", "Zucchini/z.jpg"}) return 1;
  try {
    list_inputs(root / "Locked", {});
  } catch (const JobError& error) {
    const bool names_root = std::string(error.what()).find(root / "Locked") != std::string::npos;
    return error.code() == ExitCode::kInputOutput && names_root ? 0 : 1;
  }
  return 1;
}

// Root ignores permission bits, so the listing runs in a child that dropped to user nobody.
TEST(ListInputsDeathTest, SkipsUnreadableSubfolderAndRejectsUnreadableRoot) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempFolder root;
  root.write("Apple/a.jpg", "");
  root.write("Locked/b.jpg", "");
  root.write("Zucchini/z.jpg", "");
  std::filesystem::permissions(root.path() / "Locked", std::filesystem::perms::none);

  EXPECT_EXIT(_exit(list_with_locked_folder(root)), ::testing::ExitedWithCode(0), "");
}

TEST(ParseGlobs, SplitsOnCommasAndTrimsBlanks) {
  EXPECT_THAT(parse_globs(" *.jpg, *.PNG ,,\t*.jpeg "), ElementsAre("*.jpg", "*.PNG", "*.jpeg"));
  EXPECT_TRUE(parse_globs("").empty());
  EXPECT_TRUE(parse_globs(" , ").empty());
}

TEST(LabelOf, IsTheParentFolderName) {
  EXPECT_EQ(label_of("/data/train/Banana Lady Finger/1.jpg", LabelFrom::kParent),
            "Banana Lady Finger");
  EXPECT_EQ(label_of("train/\xC3\x84pfel/1.jpg", LabelFrom::kParent), "\xC3\x84pfel");
  EXPECT_EQ(label_of("Apple/1.jpg", LabelFrom::kParent), "Apple");
  EXPECT_EQ(label_of("1.jpg", LabelFrom::kParent), "");
  EXPECT_EQ(label_of("/1.jpg", LabelFrom::kParent), "");
  EXPECT_EQ(label_of("/data/Apple/1.jpg", LabelFrom::kNone), "");
}

}  // namespace
}  // namespace pomona
