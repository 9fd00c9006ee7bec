// Files and folders named by URIs (plain paths, file://, s3://bucket/key), for every module that
// reads or writes them: the URI string helpers, a URI resolved to an arrow::fs::FileSystem and a
// path in it, the few file operations the commit protocol needs (each with the right guarantee on
// each store), and how an Arrow failure reads in Pomona's one-line messages. Implemented in io/.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pomona/error.h"

namespace arrow::io {
class FileOutputStream;
}

namespace pomona::files {

// URIs are handled as strings: std::filesystem would take s3://bucket/key for a relative path.

// folder + "/" + name, without doubling a trailing slash.
std::string join_uri(std::string_view folder, std::string_view name);
// uri without trailing slashes ("/" itself stays).
std::string without_trailing_slashes(std::string uri);
// The folder part of uri with its trailing "/": "s3://b/x/" for "s3://b/x/y.parquet", "" for a
// bare local name.
std::string folder_of(std::string_view uri);
// The folder holding uri, to list or create: folder_of(uri), or "." for a bare local name.
std::string containing_folder(std::string_view uri);
// The name after the last "/" of uri.
std::string name_of(std::string_view uri);

// A file or folder named by a URI, on the filesystem that holds it.
struct Location {
  std::shared_ptr<arrow::fs::FileSystem> fs;
  std::string path;  // in fs: a local path, or "bucket/key" for s3://bucket/key
  bool is_s3 = false;
};

// Resolves uri. Plain paths and file:// URIs are local; s3://bucket[/key] goes to the process's
// S3FileSystem (configure_s3), made on first use. Throws JobError(kConfiguration) for an s3://
// URI without a bucket, JobError(kInputOutput) when S3 cannot be initialised.
Location locate(const std::string& uri);

// ".<name>.tmp-<pid>": hidden from readers, and distinct per process.
std::string temp_name_of(std::string_view final_name);
// Whether name is a temp name temp_name_of gave for some process.
bool is_temp_name(const std::string& name);

// An output file that exists under its final name only once complete. A local file is written
// under a hidden temp name beside it, fsynced and renamed; an S3 object is uploaded to its final
// key, which S3 shows only when the upload completes (no rename, which S3 does by copying).
// Destroyed unpublished, it removes the temp file or aborts the upload: nothing is left.
class AtomicFile {
 public:
  // Throws JobError(kInputOutput) "cannot create URI: reason".
  explicit AtomicFile(std::string uri);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::shared_ptr<arrow::io::OutputStream>& stream() const { return stream_; }
  // Makes the bytes durable and visible under the final name (replacing a file of that name).
  // Throws JobError(kInputOutput) naming the file.
  void publish();

 private:
  std::string uri_;
  Location location_;
  std::string temp_path_;  // local only
  std::shared_ptr<arrow::io::FileOutputStream> local_stream_;
  std::shared_ptr<arrow::io::OutputStream> stream_;
  bool published_ = false;
};

// Writes contents to uri through an AtomicFile.
void write_file_atomically(const std::string& uri, std::string_view contents);
// The whole contents of uri, or nullopt when it does not exist. Throws JobError(kInputOutput).
std::optional<std::string> read_file_if_exists(const std::string& uri);
// Opens uri for random access (Parquet readers). Throws JobError(kInputOutput) "cannot read".
std::shared_ptr<arrow::io::RandomAccessFile> open_input_file(const std::string& uri);
// Whether uri is a folder (on S3: a prefix with objects below it).
bool is_folder(const std::string& uri);
// Throws JobError(kInputOutput) "no such bucket" when the bucket of an S3 location does not
// exist, or the S3 error (bad credentials, access denied) when it cannot be checked.
void check_bucket_exists(const Location& location, const std::string& uri);
// Makes sure files can be written under folder: local folders are created; S3 needs no folders,
// but its bucket is checked (check_bucket_exists). Throws JobError(kInputOutput) naming folder.
void make_folder(const std::string& uri);
// The names of the files directly in folder, sorted. Throws JobError(kInputOutput).
std::vector<std::string> file_names_in(const std::string& folder);
// Removes a file; a missing one is fine. Throws JobError(kInputOutput) naming it.
void remove_file(const std::string& uri);
// Removes the files directly in folder whose names are temp names (is_temp_name) starting with
// "." + prefix: what runs killed before publishing left. Call only while holding the output's
// lock (table.h, OutputLock), when no live run writes them. A missing folder has none.
void remove_temp_files(const std::string& folder, const std::string& prefix = "");
// For an output file "x.parquet": remove_temp_files of its folder for the prefix "x.", which
// covers its own temp files and those of files named after it (x.pca-model.parquet).
void remove_temp_files_of(const std::string& output_file);
// Local folders: makes names created, renamed or removed in it survive a power cut. S3: nothing
// to do (a completed upload is durable).
void sync_folder(const std::string& uri);

// "No such file or directory" when the status carries an errno (the usual case for local files),
// otherwise Arrow's own message on one line; for S3 errors that stop a job (no such bucket, bad
// credentials, access denied) preceded by what to do about them.
std::string reason_of(const arrow::Status& status);

// Throws JobError(kInputOutput) "cannot ACTION URI: reason_of(status)" unless status is ok, with
// the setting to change for the S3 errors that have one (credentials, endpoint and region).
void check_io(const arrow::Status& status, const std::string& action, const std::string& uri);

// The value of result, or the JobError above.
template <typename T>
T check_io(arrow::Result<T> result, const std::string& action, const std::string& uri) {
  check_io(result.status(), action, uri);
  return std::move(result).ValueUnsafe();
}

// Throws JobError(kInputOutput) "cannot ACTION: reason_of(status)" unless status is ok: for Arrow
// work on no file, such as building arrays (which fails when memory runs out, or an array
// outgrows Arrow's 2 GiB offsets), so the failure reads as Arrow's message.
void check_arrow(const arrow::Status& status, const std::string& action);

// The value of result, or the JobError above.
template <typename T>
T check_arrow(arrow::Result<T> result, const std::string& action) {
  check_arrow(result.status(), action);
  return std::move(result).ValueUnsafe();
}

}  // namespace pomona::files
