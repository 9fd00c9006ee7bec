// io/: which inputs exist, their labels, and their bytes, on local disks (plain paths and
// file://) and S3 (s3://bucket/prefix), both through Arrow's filesystem layer (arrow::fs). Knows
// nothing of images' contents.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

// While alive, the s3:// URIs the calling thread uses are reached with `options` instead of
// configure_s3's (scopes nest; the outer one applies again once an inner one ends). So one
// process reaches stores with different settings: a Spark Python worker serves tasks of jobs
// with different options. Filesystems are made once per distinct settings and AWS_* environment
// and kept for the process. With a profile, its keys in the shared credentials file
// ($AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) win over environment keys, as in the
// AWS CLI; a profile in neither that file nor the config file ($AWS_CONFIG_FILE, else
// ~/.aws/config) is a JobError(kConfiguration) naming both, at the first S3 access.
class S3OptionsScope {
 public:
  explicit S3OptionsScope(const S3Options& options);
  ~S3OptionsScope();
  S3OptionsScope(const S3OptionsScope&) = delete;
  S3OptionsScope& operator=(const S3OptionsScope&) = delete;

  // The settings s3:// URIs get on the calling thread now.
  static S3Options current();

 private:
  const S3Options options_;
  const S3Options* const outer_;
};

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

// Throws JobError(kInputOutput) with one line naming folder unless files can be written and
// removed in it, before any work that would write there: a local folder is created when
// missing; on S3 the bucket must exist and a probe object "_pomona_write_probe-<random>" (a
// hidden name, which listings and readers skip) is put and deleted.
void check_writable(const std::string& folder);

// Reads the bytes of listed inputs on threads of its own, in listing order, ahead of the
// consumers that take them: on S3 each GET costs tens of milliseconds of latency, which
// consumers reading their own inputs would spend idle. Bounded by the bytes read and not yet
// taken. The reads in flight size themselves, as TCP sizes its window: one more each time a
// consumer waits for bytes with every allowed read busy, half as many after the store throttles
// (then one more a round), between 1 and max_threads.
class ReadAhead {
 public:
  // How one input's bytes are fetched; tests substitute their own.
  using Reader = std::function<Result<std::vector<uint8_t>>(const ObjectInfo&)>;
  // A count that grows each time the store throttles or fails a request (which the reader then
  // retries); tests substitute their own.
  using ThrottleCount = std::function<int64_t()>;

  // Reads that start in flight: as many as a fixed read-ahead used to keep.
  static constexpr int kInitialReads = 8;
  // The usual cap on reads in flight for S3: 64 cover ~2,500 GETs/s at S3's 25 ms.
  static constexpr int kDefaultMaxThreads = 64;

  // inputs must outlive this object. Starts `max_threads` threads that read inputs[0], [1], ...
  // with `read`, at most the current limit at a time (starting at kInitialReads, capped by
  // max_threads), and stop claiming new ones while max_bytes_ahead bytes (listed sizes) are read
  // or being read but not taken (one input is always allowed, however large). A rise of
  // `throttles` seen when a read ends halves the limit, once per round of reads.
  ReadAhead(
      const std::vector<ObjectInfo>& inputs, int max_threads, int64_t max_bytes_ahead,
      Reader read = [](const ObjectInfo& input) { return read_bytes(input); },
      ThrottleCount throttles = s3_retry_count);
  // Cancels, then waits for the threads.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Blocks until inputs[index] is read and hands over its bytes or read error. Each index is
  // taken at most once; taking in about listing order keeps the window moving (any order is
  // safe while every claimed input is eventually taken).
  Result<std::vector<uint8_t>> take(int64_t index);
  // Stops the threads; take() of an input not yet read then returns an error at once. For a run
  // that stops early, whose consumers will not take every input.
  void cancel();
  // The most reads allowed in flight now.
  int concurrency();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The SHA-256 of bytes as 64 lowercase hex digits (OpenSSL's libcrypto).
std::string sha256_hex(std::span<const uint8_t> bytes);

}  // namespace pomona
