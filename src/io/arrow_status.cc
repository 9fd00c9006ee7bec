#include "io/arrow_status.h"

#include <arrow/util/io_util.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "pomona/error.h"

namespace pomona::internal {
namespace {

bool mentions_any(const std::string& text, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const char* word) { return text.find(word) != std::string::npos; });
}

// What to do about the S3 errors that stop a job; empty for the others.
std::string s3_hint(const std::string& message) {
  if (mentions_any(message, {"INVALID_ACCESS_KEY_ID", "InvalidAccessKeyId",
                             "SIGNATURE_DOES_NOT_MATCH", "SignatureDoesNotMatch", "ExpiredToken",
                             "InvalidToken", "MISSING_AUTHENTICATION_TOKEN"})) {
    return "S3 rejected the credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pick a "
           "profile with --s3-profile, or use --s3-anonymous for a public bucket";
  }
  if (mentions_any(message, {"NO_SUCH_BUCKET", "NoSuchBucket"})) {
    return "no such bucket: check the bucket name, --s3-endpoint and --s3-region";
  }
  if (mentions_any(message, {"ACCESS_DENIED", "AccessDenied", "HTTP response code 403"})) {
    return "access denied: these credentials need s3:ListBucket and s3:GetObject to read, "
           "s3:PutObject and s3:DeleteObject to write";
  }
  return "";
}

}  // namespace

std::string reason_of(const arrow::Status& status) {
  const int errnum = arrow::internal::ErrnoFromStatus(status);
  if (errnum != 0) return std::strerror(errnum);
  std::string message = status.message();
  // AWS SDK messages span lines; Pomona's errors are one line.
  std::replace(message.begin(), message.end(), '\n', ' ');
  if (const std::string hint = s3_hint(message); !hint.empty()) return hint + " (" + message + ")";
  return message;
}

void check_io(const arrow::Status& status, const std::string& action, const std::string& uri) {
  if (!status.ok()) {
    throw JobError(ExitCode::kInputOutput,
                   "cannot " + action + " " + uri + ": " + reason_of(status));
  }
}

}  // namespace pomona::internal
