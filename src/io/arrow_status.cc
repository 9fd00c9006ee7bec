#include "io/arrow_status.h"

#include <arrow/util/io_util.h>

#include <cstring>

namespace pomona::internal {

std::string reason_of(const arrow::Status& status) {
  const int errnum = arrow::internal::ErrnoFromStatus(status);
  return errnum != 0 ? std::strerror(errnum) : status.message();
}

}  // namespace pomona::internal
