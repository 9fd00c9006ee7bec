// io/: which inputs exist, their labels, and their bytes. Built on Arrow's filesystem layer so
// that later issues can add s3:// without touching callers. Knows nothing of images' contents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pomona/error.h"

namespace pomona {

// One listed input.
struct ObjectInfo {
  std::string uri;       // the path as listed (a local path, no "file://" prefix)
  int64_t size = 0;      // bytes
  int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch
};

enum class LabelFrom { kParent, kNone };

struct ListOptions {
  // Case-insensitive fnmatch patterns matched against the file name; a file matching any is kept.
  std::vector<std::string> globs = {"*.jpg", "*.jpeg", "*.png"};
};

// Splits "*.jpg,*.png" into patterns, trimming blanks.
std::vector<std::string> parse_globs(const std::string& comma_separated);

// Lists matching files under root recursively, sorted by path (byte order), so the order is the
// same on every run and machine. uri is root as given (trailing slashes dropped) joined with the
// names below it. Files and folders whose name starts with "." or "_" are skipped, as Spark's file
// index does (so .DS_Store, ._x.jpg, _temporary/ never become rows). Symlinks are followed.
// root may also be one file, listed whatever its name. Throws JobError(kInputOutput) with one
// line naming root when it does not exist or cannot be read. Unreadable subfolders, broken
// symlinks and symlink loops are skipped, never fatal.
std::vector<ObjectInfo> list_inputs(const std::string& root, const ListOptions& options);

// The label of an input: the name of its parent folder (kParent) or "" (kNone).
std::string label_of(const std::string& uri, LabelFrom from);

// Reads a whole file. Returns a one-line error naming the file when it cannot be read.
Result<std::vector<uint8_t>> read_bytes(const std::string& uri);

}  // namespace pomona
