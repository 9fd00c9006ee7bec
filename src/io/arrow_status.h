// Turns an Arrow status into the short reason a one-line Pomona message ends with. Shared by io/
// and table/, the two modules that talk to Arrow.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <string>

namespace pomona::internal {

// "No such file or directory" when the status carries an errno (the usual case for local files),
// otherwise Arrow's own message on one line; for S3 errors that stop a job (no such bucket, bad
// credentials, access denied) preceded by what to do about them.
std::string reason_of(const arrow::Status& status);

// Throws JobError(kInputOutput) "cannot ACTION URI: reason_of(status)" unless status is ok.
void check_io(const arrow::Status& status, const std::string& action, const std::string& uri);

// The value of result, or the JobError above.
template <typename T>
T check_io(arrow::Result<T> result, const std::string& action, const std::string& uri) {
  check_io(result.status(), action, uri);
  return std::move(result).ValueUnsafe();
}

}  // namespace pomona::internal
