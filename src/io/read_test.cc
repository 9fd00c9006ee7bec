#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/temp_folder_for_tests.h"
#include "pomona/io.h"

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

}  // namespace
}  // namespace pomona
