// weights_sha256 (include/pomona/model.h).
#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"

namespace pomona {

std::string weights_sha256(const std::string& path) {
  auto bytes = read_bytes(path);
  if (!bytes.ok()) throw JobError(ExitCode::kConfiguration, bytes.error());
  return sha256_hex(bytes.value());
}

}  // namespace pomona
