// libcurl loaded at download time: what load_curl says when it is absent or not libcurl, and that
// nothing links it. The downloads themselves are tested through fetch_keras_weights
// (keras_cache_test.cc, against a local HTTP server).
#include "http_download.h"

#include <gtest/gtest.h>
#include <link.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pomona {
namespace {

// The files of the libraries loaded in this process.
std::vector<std::string> loaded_libraries() {
  std::vector<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        static_cast<std::vector<std::string>*>(out)->emplace_back(info->dlpi_name);
        return 0;
      },
      &names);
  return names;
}

TEST(HttpDownload, NothingLinksLibcurl) {
  // This test binary links the model library the command and the Python module link; each test
  // runs in a process of its own, so nothing has downloaded yet.
  const std::vector<std::string> libraries = loaded_libraries();
  ASSERT_GT(libraries.size(), 3u);  // the binary, the vDSO, libc, libstdc++, ...
  for (const std::string& name : libraries)
    EXPECT_EQ(name.find("libcurl"), std::string::npos) << name;
}

TEST(HttpDownload, AbsentLibcurlSaysWhatToInstall) {
  const auto absent =
      load_curl({"libpomona-absent-curl.so.4", "libpomona-absent-curl-gnutls.so.4"});
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(
      absent.error(),
      "libpomona-absent-curl.so.4 is not installed (install libcurl, e.g. Debian's libcurl4)");
}

TEST(HttpDownload, ALibraryWithoutCurlsFunctionsIsRejected) {
  const auto zlib = load_curl({"libz.so.1"});
  ASSERT_FALSE(zlib.ok());
  EXPECT_EQ(zlib.error(), "libz.so.1 lacks curl_global_init: it is not libcurl");
}

TEST(HttpDownload, TheNextNameIsTriedWhenOneIsAbsent) {
  const auto curl = load_curl({"libpomona-absent-curl.so.4", "libcurl.so.4"});
  ASSERT_TRUE(curl.ok()) << curl.error();
  EXPECT_NE(curl.value(), nullptr);
  const std::vector<std::string> libraries = loaded_libraries();
  EXPECT_NE(std::find_if(
                libraries.begin(), libraries.end(),
                [](const std::string& name) { return name.find("libcurl") != std::string::npos; }),
            libraries.end());
}

}  // namespace
}  // namespace pomona
