// Turns an Arrow status into the short reason a one-line Pomona message ends with. Shared by io/
// and table/, the two modules that talk to Arrow.
#pragma once

#include <arrow/status.h>

#include <string>

namespace pomona::internal {

// "No such file or directory" when the status carries an errno (the usual case for local files),
// otherwise Arrow's own message on one line; for S3 errors that stop a job (no such bucket, bad
// credentials, access denied) preceded by what to do about them.
std::string reason_of(const arrow::Status& status);

}  // namespace pomona::internal
