#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "pomona/io.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempFolder;

TEST(ReadBytes, ReturnsEveryByteOfABinaryFile) {
  TempFolder folder;
  std::string contents(3 << 20, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7 % 251);
  const std::string file = folder.write("\xC3\x84pfel/Cucumber Ripe 1.jpg", contents);

  const Result<std::vector<uint8_t>> bytes = read_bytes(file);
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_EQ(std::string(bytes.value().begin(), bytes.value().end()), contents);
}

TEST(ReadBytes, EmptyFileGivesNoBytes) {
  TempFolder folder;
  const Result<std::vector<uint8_t>> bytes = read_bytes(folder.write("empty.jpg", ""));
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_TRUE(bytes.value().empty());
}

TEST(ReadBytes, VanishedFileIsAOneLineErrorNamingIt) {
  TempFolder folder;
  const std::string file = folder.write("gone.jpg", "x");
  std::filesystem::remove(file);

  const Result<std::vector<uint8_t>> bytes = read_bytes(file);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error(), "cannot read " + file + ": No such file or directory");
}

TEST(ReadBytes, FolderIsAnErrorNamingIt) {
  TempFolder folder;
  const Result<std::vector<uint8_t>> bytes = read_bytes(folder.path().string());
  ASSERT_FALSE(bytes.ok());
  EXPECT_THAT(bytes.error(), HasSubstr("cannot read " + folder.path().string() + ": "));
  EXPECT_THAT(bytes.error(), Not(HasSubstr("\n")));
}

// Root ignores permission bits, so the read runs in a child that dropped to user nobody.
TEST(ReadBytesDeathTest, UnreadableFileIsAnErrorNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempFolder folder;
  const std::string file = folder.write("locked.jpg", "secret");
  std::filesystem::permissions(file, std::filesystem::perms::none);

  EXPECT_EXIT(
      {
        if (!testing::drop_root_privileges()) _exit(2);
        const Result<std::vector<uint8_t>> bytes = read_bytes(file);
        _exit(!bytes.ok() && bytes.error() == "cannot read " + file + ": Permission denied" ? 0
                                                                                            : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ReadBytes, FileOverTheBudgetIsRefusedBeforeAnyByteIsRead) {
  TempFolder folder;
  const std::string file = folder.write("huge.jpg", "");
  std::filesystem::resize_file(file, int64_t{50} << 30);  // sparse: no disk, no memory
  for (const Result<std::vector<uint8_t>>& bytes :
       {read_bytes(file), read_bytes(ObjectInfo{.uri = file, .size = int64_t{50} << 30})}) {
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.error(), "cannot read " + file +
                                 ": 53687091200 bytes, more than the 1073741824 bytes allowed "
                                 "per file");
  }
  const Result<std::vector<uint8_t>> small = read_bytes(folder.write("a.jpg", "12345"), 4);
  ASSERT_FALSE(small.ok());
  EXPECT_THAT(small.error(), HasSubstr("5 bytes, more than the 4 bytes allowed per file"));
}

TEST(ReadBytes, LargeFileHasItsFirstBytesCheckedBeforeTheRestIsRead) {
  TempFolder folder;
  std::string head(kPrefixCheckBytes + 10, '\0');
  for (size_t i = 0; i < head.size(); ++i) head[i] = static_cast<char>(i * 7 % 251);
  const std::string file = folder.write("big.jpg", head);
  const int64_t size = kPrefixCheckMinFileBytes + 1;
  std::filesystem::resize_file(file, size);  // the rest: a sparse tail of zeros
  const ObjectInfo input{.uri = file, .size = size};
  std::vector<std::string> seen;
  const auto check = [&](Status answer) {
    return [&seen, answer](std::span<const uint8_t> prefix) {
      seen.emplace_back(prefix.begin(), prefix.end());
      return answer;
    };
  };

  const Result<std::vector<uint8_t>> refused =
      read_bytes(input, size, check(Status::failure("refused: bomb")));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "refused: bomb");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], head.substr(0, kPrefixCheckBytes));

  const Result<std::vector<uint8_t>> read = read_bytes(input, size, check(Status()));
  ASSERT_TRUE(read.ok()) << read.error();
  ASSERT_EQ(read.value().size(), static_cast<size_t>(size));
  EXPECT_EQ(std::string(read.value().begin(), read.value().begin() + head.size()), head);
  EXPECT_EQ(std::count(read.value().begin() + head.size(), read.value().end(), 0),
            size - static_cast<int64_t>(head.size()));
  EXPECT_EQ(seen.size(), 2u);
}

TEST(ReadBytes, SmallFileIsReadInOneStepWithoutThePrefixCheck) {
  TempFolder folder;
  const std::string file = folder.write("small.jpg", "12345");
  bool checked = false;
  const Result<std::vector<uint8_t>> bytes =
      read_bytes(ObjectInfo{.uri = file, .size = 5}, 100, [&](std::span<const uint8_t>) {
        checked = true;
        return Status::failure("refused");
      });
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_EQ(bytes.value().size(), 5u);
  EXPECT_FALSE(checked);
}

TEST(ReadBytes, FifoIsAnErrorNotAHang) {
  TempFolder folder;
  const std::string fifo = folder / "pipe.jpg";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const Result<std::vector<uint8_t>> bytes = read_bytes(fifo);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error(), "cannot read " + fifo + ": not a regular file");
}

}  // namespace
}  // namespace pomona
