// file_sha256 (io/filesystem.h).
#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "io/arrow_status.h"
#include "io/filesystem.h"
#include "pomona/error.h"

namespace pomona::internal {

std::string file_sha256(const std::string& uri) {
  const auto fail = [&](const std::string& reason) {
    throw JobError(ExitCode::kInputOutput, "cannot read " + uri + ": " + reason);
  };
  const Location location = locate(uri);
  auto stream = location.fs->OpenInputStream(location.path);
  if (!stream.ok()) fail(reason_of(stream.status()));
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                        EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    fail("SHA-256 unavailable");
  }
  std::vector<uint8_t> block(1 << 20);
  for (;;) {
    auto read = (*stream)->Read(static_cast<int64_t>(block.size()), block.data());
    if (!read.ok()) fail(reason_of(read.status()));
    if (*read == 0) break;
    EVP_DigestUpdate(context.get(), block.data(), static_cast<size_t>(*read));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof(pair), "%02x", digest[i]);
    hex += pair;
  }
  return hex;
}

}  // namespace pomona::internal
