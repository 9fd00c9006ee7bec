// A fresh folder under the test temp dir, removed with everything in it when the test ends. Shared
// by the tests of several modules (pomona_file_test_support, cmake/PomonaHelpers.cmake).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pomona::testing {

class TempFolder {
 public:
  TempFolder() {
    std::string pattern = ::testing::TempDir() + "pomona-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    // Readable by everyone, so tests that drop root privileges can still walk it.
    std::filesystem::permissions(
        path_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                   std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                   std::filesystem::perms::others_exec);
  }
  ~TempFolder() {
    std::error_code ignored;
    // Tests lock folders; give them back their permissions so they can be removed.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ignored);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
      if (!it->is_symlink(ignored)) {
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ignored);
      }
    }
    std::filesystem::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(std::string_view relative) const { return (path_ / relative).string(); }

  // Writes contents to relative, creating its folders; returns the full path.
  std::string write(std::string_view relative, std::string_view contents) const {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary).write(contents.data(), contents.size());
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

// Permission bits do not stop root, and tests often run as root: death tests that check what an
// unreadable file does call this first in their child process. Returns false when it cannot.
inline bool drop_root_privileges() {
  constexpr uid_t kNobody = 65534;
  if (geteuid() != 0) return true;
  return setgid(kNobody) == 0 && setuid(kNobody) == 0;
}

}  // namespace pomona::testing
