// list_inputs, parse_globs and label_of (include/pomona/io.h).
//
// Why the walk descends one folder at a time instead of using Arrow's recursive FileSelector:
// Arrow's local walker follows symlinked folders without loop detection (a `loop -> ..` link makes
// it recurse until the kernel's ELOOP, with the number of paths growing exponentially on the way)
// and one unreadable subfolder fails the whole listing. io.h promises both are skipped. Listing
// each folder through arrow::fs keeps every file access behind the FileSystem interface.
// S3 has neither symlinks nor per-folder permissions: a prefix is listed recursively, streamed a
// page at a time.
#include <arrow/filesystem/localfs.h>
#include <arrow/util/async_generator.h>
#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "pomona/files.h"
#include "pomona/io.h"

namespace pomona {
namespace {

// Spark's file index skips names starting with "." or "_" (hidden files, _SUCCESS, checkpoints,
// macOS "._x.jpg" resource forks); doing the same keeps the rows identical to the notebook's.
bool is_hidden(std::string_view name) {
  return !name.empty() && (name.front() == '.' || name.front() == '_');
}

bool matches_any(const std::string& name, const std::vector<std::string>& globs) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& glob) {
    return fnmatch(glob.c_str(), name.c_str(), FNM_CASEFOLD) == 0;
  });
}

ObjectInfo object_info(std::string uri, const arrow::fs::FileInfo& info) {
  return ObjectInfo{std::move(uri), info.size(), info.mtime().time_since_epoch().count()};
}

class FolderWalker {
 public:
  FolderWalker(arrow::fs::FileSystem& fs, const ListOptions& options, ListReport& report)
      : fs_(fs), options_(options), report_(report) {}

  // Appends the matching files under folder (whose entries are already listed) to found.
  void walk(const std::string& folder, const std::vector<arrow::fs::FileInfo>& entries,
            std::vector<ObjectInfo>& found) {
    // A symlink loop shows up as a folder whose real path is one of its own ancestors'.
    std::error_code error;
    const std::filesystem::path real_path = std::filesystem::canonical(folder, error);
    if (error || std::find(ancestors_.begin(), ancestors_.end(), real_path) != ancestors_.end()) {
      return;
    }
    ancestors_.push_back(real_path);
    for (const arrow::fs::FileInfo& entry : entries) {
      const std::string name = entry.base_name();
      const bool wanted =
          entry.IsDirectory() || (entry.IsFile() && matches_any(name, options_.globs));
      std::string uri = files::join_uri(folder, name);
      if (is_hidden(name)) {
        if (wanted) report_.hidden.push_back(std::move(uri));
        continue;
      }
      if (entry.IsFile() && wanted) {
        found.push_back(object_info(std::move(uri), entry));
      } else if (entry.IsDirectory()) {
        auto sub_entries = list_folder(uri);
        if (sub_entries.ok()) {
          walk(uri, *sub_entries, found);
        } else {
          report_.unreadable.push_back(uri);  // skipped, as promised, and reported
        }
      }
    }
    ancestors_.pop_back();
  }

  arrow::Result<std::vector<arrow::fs::FileInfo>> list_folder(const std::string& folder) {
    arrow::fs::FileSelector selector;
    selector.base_dir = folder;
    selector.recursive = false;
    return fs_.GetFileInfo(selector);
  }

 private:
  arrow::fs::FileSystem& fs_;
  const ListOptions& options_;
  ListReport& report_;
  std::vector<std::filesystem::path> ancestors_;
};

// Whether a key below the listed prefix has a hidden name anywhere in its relative path.
bool has_hidden_component(std::string_view relative) {
  while (!relative.empty()) {
    const size_t slash = relative.find('/');
    if (is_hidden(relative.substr(0, slash))) return true;
    if (slash == std::string_view::npos) break;
    relative.remove_prefix(slash + 1);
  }
  return false;
}

// S3 returns keys in byte order a page (1000 keys) at a time; only the matching ones are kept.
std::vector<ObjectInfo> list_s3_prefix(const std::string& root, const files::Location& prefix,
                                       const ListOptions& options, ListReport& report) {
  arrow::fs::FileSelector selector;
  selector.base_dir = prefix.path;
  selector.recursive = true;
  auto pages = prefix.fs->GetFileInfoGenerator(selector);
  std::vector<ObjectInfo> found;
  const std::string uri_prefix = files::without_trailing_slashes(root) + "/";
  while (true) {
    arrow::Result<arrow::fs::FileInfoVector> page = pages().result();
    files::check_io(page.status(), "read input", root);
    if (arrow::IsIterationEnd(*page)) break;
    for (const arrow::fs::FileInfo& entry : *page) {
      const std::string_view relative =
          std::string_view(entry.path()).substr(prefix.path.size() + 1);
      if (!entry.IsFile() || !matches_any(entry.base_name(), options.globs)) continue;
      if (has_hidden_component(relative)) {
        report.hidden.push_back(uri_prefix + std::string(relative));
      } else {
        found.push_back(object_info(uri_prefix + std::string(relative), entry));
      }
    }
  }
  return found;
}

}  // namespace

std::vector<std::string> parse_globs(const std::string& comma_separated) {
  std::vector<std::string> globs;
  std::string_view rest = comma_separated;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view glob = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t first = glob.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    const size_t last = glob.find_last_not_of(" \t");
    globs.emplace_back(glob.substr(first, last - first + 1));
  }
  return globs;
}

std::vector<ObjectInfo> list_inputs(const std::string& root, const ListOptions& options,
                                    ListReport* report) {
  ListReport ignored;
  if (report == nullptr) report = &ignored;
  const files::Location location = files::locate(root);
  arrow::fs::FileSystem& fs = *location.fs;
  const std::string folder = files::without_trailing_slashes(location.path);
  const arrow::Result<arrow::fs::FileInfo> root_info = fs.GetFileInfo(folder);
  if (!root_info.ok()) {
    if (location.is_s3) {
      // A refused HEAD has no body, so 403 cannot tell bad credentials from a missing
      // permission; a listing's error names the cause.
      arrow::fs::FileSelector selector;
      selector.base_dir = folder;
      files::check_io(fs.GetFileInfo(selector).status(), "read input", root);
    }
    files::check_io(root_info.status(), "read input", root);
  }
  switch (root_info->type()) {
    case arrow::fs::FileType::File:
      // A file named on its own is what the user asked for: neither globs nor hiding apply.
      return {
          object_info(location.is_s3 ? files::without_trailing_slashes(root) : folder, *root_info)};
    case arrow::fs::FileType::Directory:
      break;
    case arrow::fs::FileType::NotFound:
      if (location.is_s3) files::check_bucket_exists(location, root);
      throw JobError(ExitCode::kInputOutput,
                     "input folder not found: " + root + " (check the path)");
    default:
      throw JobError(ExitCode::kInputOutput,
                     "input " + root +
                         " is neither a folder nor a regular file (a FIFO, socket or device?): "
                         "give a folder of images or one image");
  }
  if (location.is_s3) {
    std::vector<ObjectInfo> found = list_s3_prefix(root, location, options, *report);
    std::sort(found.begin(), found.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.uri < b.uri; });
    return found;
  }
  FolderWalker walker(fs, options, *report);
  auto entries = walker.list_folder(folder);
  files::check_io(entries.status(), "read input folder", root);
  std::vector<ObjectInfo> found;
  walker.walk(folder, *entries, found);
  std::sort(report->hidden.begin(), report->hidden.end());
  std::sort(report->unreadable.begin(), report->unreadable.end());
  std::sort(found.begin(), found.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.uri < b.uri; });
  return found;
}

std::string label_of(const std::string& uri, LabelFrom from) {
  if (from == LabelFrom::kNone) return "";
  const size_t name_start = uri.rfind('/');
  if (name_start == std::string::npos || name_start == 0) return "";
  const size_t parent_start = uri.rfind('/', name_start - 1);
  const size_t begin = parent_start == std::string::npos ? 0 : parent_start + 1;
  return uri.substr(begin, name_start - begin);
}

}  // namespace pomona
