// read_bytes (include/pomona/io.h).
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>

#include "io/arrow_status.h"
#include "io/filesystem.h"
#include "pomona/error.h"
#include "pomona/io.h"

namespace pomona {
namespace {

// info: the file's listed size when known (type File), which spares S3 a HEAD request.
Result<std::vector<uint8_t>> read_located(const std::string& uri, const arrow::fs::FileInfo& info) {
  const auto failure = [&](const arrow::Status& status) {
    return Result<std::vector<uint8_t>>::failure("cannot read " + uri + ": " +
                                                 internal::reason_of(status));
  };
  internal::Location location;
  try {
    location = internal::locate(uri);
  } catch (const JobError& error) {
    return Result<std::vector<uint8_t>>::failure(error.what());
  }
  arrow::fs::FileInfo located = info;
  located.set_path(location.path);
  auto file = info.type() == arrow::fs::FileType::File ? location.fs->OpenInputFile(located)
                                                       : location.fs->OpenInputFile(location.path);
  if (!file.ok()) return failure(file.status());
  auto size = (*file)->GetSize();
  if (!size.ok()) return failure(size.status());
  std::vector<uint8_t> bytes(*size);
  // Read straight into the vector: no intermediate Arrow buffer to copy from.
  auto read = (*file)->ReadAt(0, *size, bytes.data());
  if (!read.ok()) return failure(read.status());
  if (*read != *size) {
    return Result<std::vector<uint8_t>>::failure("cannot read " + uri +
                                                 ": file changed size while being read");
  }
  return bytes;
}

}  // namespace

Result<std::vector<uint8_t>> read_bytes(const std::string& uri) {
  return read_located(uri, arrow::fs::FileInfo());
}

Result<std::vector<uint8_t>> read_bytes(const ObjectInfo& input) {
  arrow::fs::FileInfo info(input.uri, arrow::fs::FileType::File);
  info.set_size(input.size);
  return read_located(input.uri, info);
}

}  // namespace pomona
