// read_bytes (include/pomona/io.h).
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/io.h"

namespace pomona {
namespace {

using Bytes = Result<std::vector<uint8_t>>;

Bytes too_large(const std::string& uri, int64_t size, int64_t max_bytes) {
  return Bytes::failure("cannot read " + uri + ": " + std::to_string(size) +
                        " bytes, more than the " + std::to_string(max_bytes) +
                        " bytes allowed per file");
}

// info: the file's listed size when known (type File), which spares S3 a HEAD request.
// check_prefix: see read_bytes in include/pomona/io.h; empty for none.
Bytes read_located(const std::string& uri, const arrow::fs::FileInfo& info, int64_t max_bytes,
                   const PrefixCheck& check_prefix) {
  const auto failure = [&](const arrow::Status& status) {
    return Bytes::failure("cannot read " + uri + ": " + files::reason_of(status));
  };
  if (info.type() == arrow::fs::FileType::File && info.size() > max_bytes) {
    return too_large(uri, info.size(), max_bytes);
  }
  files::Location location;
  try {
    location = files::locate(uri);
  } catch (const JobError& error) {
    return Bytes::failure(error.what());
  }
  arrow::fs::FileInfo located = info;
  located.set_path(location.path);
  if (info.type() != arrow::fs::FileType::File) {
    // Opening a FIFO blocks until a writer comes, maybe forever: look before opening.
    auto found = location.fs->GetFileInfo(location.path);
    if (!found.ok()) return failure(found.status());
    if (found->type() == arrow::fs::FileType::NotFound) {
      return Bytes::failure("cannot read " + uri + ": " + std::strerror(ENOENT));
    }
    if (found->type() != arrow::fs::FileType::File) {
      return Bytes::failure("cannot read " + uri + ": not a regular file");
    }
    located = *found;
  }
  auto file = location.fs->OpenInputFile(located);
  if (!file.ok()) return failure(file.status());
  auto size = (*file)->GetSize();
  if (!size.ok()) return failure(size.status());
  // The file may have grown since it was listed.
  if (*size > max_bytes) return too_large(uri, *size, max_bytes);
  int64_t prefix_size = 0;
  std::vector<uint8_t> prefix;
  if (check_prefix && *size > kPrefixCheckMinFileBytes) {
    prefix.resize(kPrefixCheckBytes);
    auto read = (*file)->ReadAt(0, kPrefixCheckBytes, prefix.data());
    if (!read.ok()) return failure(read.status());
    if (*read != kPrefixCheckBytes) {
      return Bytes::failure("cannot read " + uri + ": file changed size while being read");
    }
    if (const Status refused = check_prefix(prefix); !refused.ok()) return refused;
    prefix_size = kPrefixCheckBytes;
  }
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(*size);
  } catch (const std::bad_alloc&) {
    return Bytes::failure("cannot read " + uri + ": out of memory for its " +
                          std::to_string(*size) + " bytes");
  }
  // Read straight into the vector: no intermediate Arrow buffer to copy from.
  std::copy(prefix.begin(), prefix.end(), bytes.begin());
  auto read = (*file)->ReadAt(prefix_size, *size - prefix_size, bytes.data() + prefix_size);
  if (!read.ok()) return failure(read.status());
  if (*read != *size - prefix_size) {
    return Bytes::failure("cannot read " + uri + ": file changed size while being read");
  }
  return bytes;
}

}  // namespace

Result<std::vector<uint8_t>> read_bytes(const std::string& uri, int64_t max_bytes) {
  return read_located(uri, arrow::fs::FileInfo(), max_bytes, {});
}

Result<std::vector<uint8_t>> read_bytes(const ObjectInfo& input, int64_t max_bytes) {
  return read_bytes(input, max_bytes, {});
}

Result<std::vector<uint8_t>> read_bytes(const ObjectInfo& input, int64_t max_bytes,
                                        const PrefixCheck& check_prefix) {
  arrow::fs::FileInfo info(input.uri, arrow::fs::FileType::File);
  info.set_size(input.size);
  return read_located(input.uri, info, max_bytes, check_prefix);
}

}  // namespace pomona
