// read_bytes (include/pomona/io.h).
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>

#include "io/arrow_status.h"
#include "pomona/io.h"

namespace pomona {

Result<std::vector<uint8_t>> read_bytes(const std::string& uri) {
  const auto failure = [&](const arrow::Status& status) {
    return Result<std::vector<uint8_t>>::failure("cannot read " + uri + ": " +
                                                 internal::reason_of(status));
  };
  arrow::fs::LocalFileSystem fs;
  auto file = fs.OpenInputFile(uri);
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

}  // namespace pomona
