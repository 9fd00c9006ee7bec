// io/: which inputs exist, their labels, and their bytes, on local disks (plain paths and
// file://) and S3 (s3://bucket/prefix), both through Arrow's filesystem layer (arrow::fs). Knows
// nothing of images' contents.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pomona/error.h"

namespace pomona {

// One listed input.
struct ObjectInfo {
  std::string uri;       // the path as listed: a local path (no "file://"), or s3://bucket/key
  int64_t size = 0;      // bytes
  int64_t mtime_ns = 0;  // modification time (S3: LastModified), nanoseconds since the epoch
};

// How s3:// URIs are reached: Arrow's S3FileSystem with the AWS SDK's credential chain
// (environment variables, ~/.aws/credentials profiles, web identity, instance roles).
struct S3Options {
  // "host:port" or "http(s)://host:port" of an S3-compatible store (MinIO, Ceph, moto);
  // "" = $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS itself.
  std::string endpoint;
  std::string region;      // "" = $AWS_REGION, else $AWS_DEFAULT_REGION, else the SDK's (profile)
  std::string profile;     // a profile of ~/.aws/credentials and ~/.aws/config; "" = $AWS_PROFILE
  bool anonymous = false;  // no credentials: public buckets only
  // Retries of a request that failed with throttling, a 5xx or a dropped connection, after
  // exponential backoff with full jitter; other errors (403, 404) are never retried.
  int retries = 10;
  double connect_timeout_s = 5;
  double request_timeout_s = 30;
};

// Sets how s3:// URIs are reached, for the whole process. Call before the first S3 access; later
// calls have no effect on filesystems already made.
void configure_s3(const S3Options& options);

// Whether uri names an S3 object or prefix (starts with "s3://").
bool is_s3_uri(std::string_view uri);

// S3 requests retried so far in this process (throttling, 5xx, dropped connections).
int64_t s3_retry_count();

// Shuts down the AWS SDK when S3 was used (a no-op otherwise). Call once before the process
// exits, after every S3 file is closed: the SDK crashes at exit otherwise.
void finalize_s3();

enum class LabelFrom { kParent, kNone };

struct ListOptions {
  // Case-insensitive fnmatch patterns matched against the file name; a file matching any is kept.
  std::vector<std::string> globs = {"*.jpg", "*.jpeg", "*.png"};
};

// Splits "*.jpg,*.png" into patterns, trimming blanks.
std::vector<std::string> parse_globs(const std::string& comma_separated);

// What list_inputs left out, for the caller to report (nothing is skipped without a word).
struct ListReport {
  // Matching files and folders skipped for a name starting with "." or "_" (their paths).
  std::vector<std::string> hidden;
  // Subfolders that could not be read (permissions), skipped.
  std::vector<std::string> unreadable;
};

// Lists matching files under root recursively, sorted by path (byte order), so the order is the
// same on every run and machine (and the same for a folder and its copy on S3, whose listing
// comes in key byte order: an S3 prefix is listed page by page, keeping only the matching
// objects' ObjectInfo, never the raw listing). uri is root as given (trailing slashes dropped)
// joined with the names below it. Files and folders whose name starts with "." or "_" are skipped,
// as Spark's file index does (so .DS_Store, ._x.jpg, _temporary/ never become rows). Symlinks are
// followed. root may also be one file, listed whatever its name. Throws JobError(kInputOutput) with
// one line naming root when it does not exist or cannot be read. Unreadable subfolders, broken
// symlinks and symlink loops are skipped, never fatal. With a report, the skipped hidden
// names and unreadable subfolders are listed there, sorted. A root that is neither a folder nor a
// regular file (a FIFO, a device) is a JobError(kInputOutput) saying so.
std::vector<ObjectInfo> list_inputs(const std::string& root, const ListOptions& options,
                                    ListReport* report = nullptr);

// The label of an input: the name of its parent folder (kParent) or "" (kNone).
std::string label_of(const std::string& uri, LabelFrom from);

// The most bytes one input may hold by default: more than any real photo (a 200-megapixel camera
// writes JPEGs under 100 MB; decoding refuses more pixels than that anyway), small enough that
// threads x this bound fits in memory.
inline constexpr int64_t kDefaultMaxFileBytes = int64_t{1} << 30;

// Reads a whole regular file of at most max_bytes bytes. Its size is looked at before anything
// is read or allocated. Returns a one-line error naming the file when it cannot be read (for S3,
// after the retries of S3Options, with the S3 error), is larger than max_bytes, cannot be
// allocated, or is not a regular file (a FIFO or device is never opened, so it cannot block).
Result<std::vector<uint8_t>> read_bytes(const std::string& uri,
                                        int64_t max_bytes = kDefaultMaxFileBytes);
// The same for a listed input: its listed size saves S3 a metadata request, and one over
// max_bytes is refused without a request.
Result<std::vector<uint8_t>> read_bytes(const ObjectInfo& input,
                                        int64_t max_bytes = kDefaultMaxFileBytes);

// What a reader makes of a file's first bytes: ok to read on, or the failure to stop with.
using PrefixCheck = std::function<Status(std::span<const uint8_t>)>;
// Files larger than this are read in two steps by read_bytes with a PrefixCheck: the first
// kPrefixCheckBytes bytes, then the rest. Smaller ones are read in one request (one GET on S3).
inline constexpr int64_t kPrefixCheckMinFileBytes = int64_t{16} << 20;
inline constexpr int64_t kPrefixCheckBytes = int64_t{64} << 10;
// read_bytes(input, max_bytes), but a file above kPrefixCheckMinFileBytes has its first
// kPrefixCheckBytes bytes read and passed to check_prefix before the rest is allocated or read;
// a failed answer is returned as the failure, as it is.
Result<std::vector<uint8_t>> read_bytes(const ObjectInfo& input, int64_t max_bytes,
                                        const PrefixCheck& check_prefix);

// The SHA-256 of bytes as 64 lowercase hex digits (OpenSSL's libcrypto).
std::string sha256_hex(std::span<const uint8_t> bytes);

}  // namespace pomona
