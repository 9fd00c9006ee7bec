// How an Arrow failure reads in Pomona's messages: reason_of and check_io (pomona/files.h).
#include <arrow/util/io_util.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "pomona/error.h"
#include "pomona/files.h"

namespace pomona::files {
namespace {

bool mentions_any(const std::string& text, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const char* word) { return text.find(word) != std::string::npos; });
}

// What to do about an S3 error that stops a job, and the setting that does it.
struct S3Hint {
  std::string what_to_do;  // empty for the other errors
  Setting setting = Setting::kNone;
};

S3Hint s3_hint(const std::string& message) {
  if (mentions_any(message, {"INVALID_ACCESS_KEY_ID", "InvalidAccessKeyId",
                             "SIGNATURE_DOES_NOT_MATCH", "SignatureDoesNotMatch", "ExpiredToken",
                             "InvalidToken", "MISSING_AUTHENTICATION_TOKEN"})) {
    return {
        "S3 rejected the credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pick "
        "another S3 profile, or read a public bucket anonymously",
        Setting::kS3Credentials};
  }
  if (mentions_any(message, {"NO_SUCH_BUCKET", "NoSuchBucket"})) {
    return {"no such bucket: check the bucket name, the S3 endpoint and the S3 region",
            Setting::kS3Location};
  }
  if (mentions_any(message, {"ACCESS_DENIED", "AccessDenied", "HTTP response code 403"})) {
    return {
        "access denied: these credentials need s3:ListBucket and s3:GetObject to read, "
        "s3:PutObject and s3:DeleteObject to write",
        Setting::kNone};
  }
  return {};
}

// AWS SDK messages span lines; Pomona's errors are one line.
std::string one_line(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

}  // namespace

std::string reason_of(const arrow::Status& status) {
  const int errnum = arrow::internal::ErrnoFromStatus(status);
  if (errnum != 0) return std::strerror(errnum);
  const std::string message = one_line(status.message());
  if (const S3Hint hint = s3_hint(message); !hint.what_to_do.empty()) {
    return hint.what_to_do + " (" + message + ")";
  }
  return message;
}

void check_io(const arrow::Status& status, const std::string& action, const std::string& uri) {
  check_arrow(status, action + " " + uri);
}

void check_arrow(const arrow::Status& status, const std::string& action) {
  if (status.ok()) return;
  const Setting setting = arrow::internal::ErrnoFromStatus(status) != 0
                              ? Setting::kNone
                              : s3_hint(one_line(status.message())).setting;
  throw JobError(ExitCode::kInputOutput, "cannot " + action + ": " + reason_of(status), setting);
}

}  // namespace pomona::files
