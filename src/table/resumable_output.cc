// ResumableOutput (include/pomona/table.h): part files plus a manifest replaced after each one.
// The same protocol on local disks and S3: a file replaced atomically (pomona/files.h) is all
// it needs, so the manifest, written after each part, is the commit point on both.
#include <arrow/array.h>
#include <arrow/table.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <algorithm>
#include <functional>
#include <regex>
#include <sstream>
#include <unordered_set>
#include <utility>
#include <vector>

#include "part_file.h"
#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/table.h"

namespace pomona {
namespace {

using files::join_uri;
using files::remove_file;

constexpr char kSuccessName[] = "_SUCCESS";

using ManifestPart = ManifestEntry;

[[noreturn]] void throw_not_resumable(const std::string& file, const std::string& reason) {
  throw JobError(ExitCode::kConfiguration,
                 file + " " + reason + ": replace the output to start it afresh",
                 Setting::kOverwrite);
}

std::vector<ManifestPart> read_manifest_at(const std::string& path) {
  std::vector<ManifestPart> parts;
  const std::optional<std::string> contents = files::read_file_if_exists(path);
  if (!contents) return parts;
  std::istringstream in(*contents);
  static const std::regex kLine(
      R"re(\{"file": "(part-[0-9]+(-[0-9A-Za-z]+)*\.parquet)", "rows": ([0-9]+)\})re");
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (!std::regex_match(line, match, kLine)) {
      throw_not_resumable(path, "is not a manifest Pomona wrote (line \"" + line + "\")");
    }
    parts.push_back({match[1].str(), std::stoll(match[3].str())});
  }
  return parts;
}

// Replaces the manifest atomically, so that a reader sees the old or the new list, never half.
void write_manifest(const std::string& folder, const std::vector<ManifestPart>& parts) {
  std::ostringstream text;
  for (const ManifestPart& part : parts) {
    text << "{\"file\": \"" << part.file << "\", \"rows\": " << part.rows << "}\n";
  }
  files::write_file_atomically(join_uri(folder, internal::kManifestName), text.str());
  // The publication of the part file this line lists and of the manifest, durable together.
  files::sync_folder(folder);
}

// Refuses to add rows to a part written with other settings (WriterOptions::settings): the
// output would mix rows from two feature spaces. A setting recorded with another value is named
// before one the part does not record, since it says more (an fp32 part lacks bf16_layout
// because its precision differs).
void check_same_settings(const std::string& file, const parquet::arrow::FileReader& reader,
                         const std::map<std::string, std::string>& settings) {
  const auto metadata = reader.parquet_reader()->metadata()->key_value_metadata();
  std::vector<std::pair<std::string, std::string>> unrecorded;
  for (const auto& [key, value] : settings) {
    const auto found =
        metadata ? metadata->Get(key) : arrow::Result<std::string>(arrow::Status::KeyError(key));
    const std::string name = key.substr(key.find('.') + 1);
    if (!found.ok()) {
      unrecorded.emplace_back(name, value);
    } else if (*found != value) {
      throw JobError(ExitCode::kConfiguration,
                     file + " holds features made with " + name + "=" + *found + ", this run has " +
                         name + "=" + value +
                         ": rerun with the same settings, or replace the output to start it "
                         "afresh",
                     Setting::kOverwrite);
    }
  }
  if (!unrecorded.empty()) {
    const auto& [name, value] = unrecorded.front();
    throw JobError(ExitCode::kConfiguration,
                   file + " does not record " + name +
                       " (written by an older Pomona), so rows made with " + name + "=" + value +
                       " could mix feature spaces: replace the output to start it afresh",
                   Setting::kOverwrite);
  }
}

// The identity columns of one part file, without its features.
void read_committed_inputs(const std::string& file, const WriterOptions& options,
                           std::vector<CommittedInput>& inputs) {
  auto input = files::open_input_file(file);
  auto reader =
      files::check_io(parquet::arrow::OpenFile(input, arrow::default_memory_pool()), "read", file);
  check_same_settings(file, *reader, options.settings);
  std::vector<int> leaves;
  for (const char* name : {"path", "error", "size", "mtime"}) {
    const auto& fields = reader->manifest().schema_fields;
    const auto field = std::find_if(fields.begin(), fields.end(),
                                    [&](const auto& f) { return f.field->name() == name; });
    if (field == fields.end() || field->column_index < 0) {
      throw_not_resumable(file, std::string("has no column ") + name);
    }
    leaves.push_back(field->column_index);
  }
  const std::shared_ptr<arrow::Table> table = files::check_io(
      files::check_io(reader->ReadTable(leaves), "read", file)->CombineChunks(), "read", file);
  const auto column = [&](int i) { return table->column(i)->chunk(0); };
  if (table->num_rows() == 0) return;
  const auto paths = std::static_pointer_cast<arrow::StringArray>(column(0));
  const auto errors = column(1);
  const auto sizes = std::dynamic_pointer_cast<arrow::Int64Array>(column(2));
  const auto mtimes = std::dynamic_pointer_cast<arrow::TimestampArray>(column(3));
  if (!sizes || !mtimes) throw_not_resumable(file, "has identity columns of another type");
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    inputs.push_back({.path = original_text(paths->GetView(i)),
                      .size = sizes->Value(i),
                      .mtime_ns = mtimes->Value(i),
                      .failed = errors->IsValid(i)});
  }
}

// The part files committed so far, and where the manifest listing them lives.
struct Manifest {
  std::string folder;
  std::vector<ManifestPart> parts;
};

class FolderOutput : public ResumableOutput {
 public:
  FolderOutput(std::string folder, const WriterOptions& options, bool overwrite)
      : folder_(std::move(folder)),
        options_(options),
        manifest_(std::make_shared<Manifest>(Manifest{.folder = folder_, .parts = {}})) {
    options_.input_identity = true;
    files::make_folder(folder_);
    // First, so that the folder stops counting as complete before anything in it changes.
    remove_file(join_uri(folder_, kSuccessName));
    if (overwrite) {
      remove_file(join_uri(folder_, internal::kManifestName));
    } else {
      refuse_foreign_files(folder_, folder_);
      manifest_->parts = read_manifest(folder_);
    }
    remove_leftovers();
    // Row counts from the files themselves: a run killed while rewriting a part (drop_rows_of)
    // leaves a manifest with its old count.
    for (ManifestPart& part : manifest_->parts) {
      const size_t before = committed_.size();
      read_committed_inputs(join_uri(folder_, part.file), options_, committed_);
      part.rows = static_cast<int64_t>(committed_.size() - before);
    }
  }

  const std::vector<CommittedInput>& committed() const override { return committed_; }

  void drop_rows_of(const std::vector<std::string>& paths) override {
    const std::unordered_set<std::string> dropped(paths.begin(), paths.end());
    const auto is_dropped = [&](const CommittedInput& c) { return dropped.contains(c.path); };
    std::vector<ManifestPart> kept_parts;
    std::vector<CommittedInput> kept_inputs;
    auto part_begin = committed_.begin();
    for (size_t i = 0; i < manifest_->parts.size(); ++i) {
      ManifestPart part = manifest_->parts[i];
      const auto part_end = part_begin + part.rows;
      const bool touched = std::any_of(part_begin, part_end, is_dropped);
      std::remove_copy_if(part_begin, part_end, std::back_inserter(kept_inputs), is_dropped);
      part_begin = part_end;
      if (touched) part.rows = rewrite_without(join_uri(folder_, part.file), dropped);
      if (part.rows > 0) {
        kept_parts.push_back(part);
        continue;
      }
      // Out of the manifest first: a crash in between leaves a stray file the next run removes.
      std::vector<ManifestPart> listed = kept_parts;
      listed.insert(listed.end(), manifest_->parts.begin() + i + 1, manifest_->parts.end());
      write_manifest(folder_, listed);
      remove_file(join_uri(folder_, part.file));
    }
    manifest_->parts = std::move(kept_parts);
    committed_ = std::move(kept_inputs);
    write_manifest(folder_, manifest_->parts);
  }

  std::unique_ptr<RowWriter> writer() override {
    int64_t first_index = 0;
    for (const ManifestPart& part : manifest_->parts) {
      first_index = std::max(first_index, internal::part_file_index(part.file).value_or(-1) + 1);
    }
    // Shared: the writer may outlive this object.
    internal::PartNumbering numbering{
        .first_index = first_index,
        .on_published =
            [manifest = manifest_](const std::string& part, int64_t rows) {
              manifest->parts.push_back({files::name_of(part), rows});
              write_manifest(manifest->folder, manifest->parts);
            },
        .publish_empty = manifest_->parts.empty()};
    return internal::open_folder_writer(folder_, options_, std::move(numbering));
  }

 private:
  // Part files the manifest does not list (published by a run killed before its manifest line)
  // and temp files of killed runs.
  void remove_leftovers() {
    std::unordered_set<std::string> listed;
    for (const ManifestPart& part : manifest_->parts) listed.insert(part.file);
    for (const std::string& name : files::file_names_in(folder_)) {
      if ((internal::part_file_index(name) && !listed.contains(name)) ||
          files::is_temp_name(name)) {
        remove_file(join_uri(folder_, name));
      }
    }
  }

  // Replaces part by a copy without the rows of `dropped`; returns the rows kept (0: nothing
  // written, the caller removes the part).
  int64_t rewrite_without(const std::string& part, const std::unordered_set<std::string>& dropped) {
    std::vector<FeatureRow> rows = read_rows(part);
    std::erase_if(rows, [&](const FeatureRow& row) { return dropped.contains(row.path); });
    if (rows.empty()) return 0;
    internal::PartFile file(part, row_schema(options_), options_);
    for (const FeatureRow& row : rows) file.append(row);
    file.publish();
    return static_cast<int64_t>(rows.size());
  }

  std::string folder_;
  WriterOptions options_;
  std::shared_ptr<Manifest> manifest_;
  std::vector<CommittedInput> committed_;
};

}  // namespace

void refuse_foreign_files(const std::string& folder, const std::string& manifest_folder) {
  if (files::read_file_if_exists(join_uri(manifest_folder, internal::kManifestName))) return;
  const std::string lock = files::name_of(output_lock_uri(folder));
  for (const std::string& name : files::file_names_in(folder)) {
    if (name == lock || files::is_temp_name(name)) continue;
    throw JobError(ExitCode::kConfiguration,
                   folder + " holds " + name + ", which no Pomona run recorded (no " +
                       internal::kManifestName +
                       "), and Pomona never removes or overwrites files it cannot prove its "
                       "own: give an empty or new folder, or replace the output",
                   Setting::kOverwrite);
  }
}

std::vector<ManifestEntry> read_manifest(const std::string& folder) {
  return read_manifest_at(join_uri(folder, internal::kManifestName));
}

void unpublish(const std::string& folder) { remove_file(join_uri(folder, kSuccessName)); }

void publish_parts(const std::string& folder, const std::vector<ManifestEntry>& parts) {
  write_manifest(folder, parts);
  files::write_file_atomically(join_uri(folder, kSuccessName), "");
  std::unordered_set<std::string> published = {internal::kManifestName, kSuccessName};
  for (const ManifestEntry& part : parts) published.insert(part.file);
  const files::Location location = files::locate(folder);
  arrow::fs::FileSelector selector;
  selector.base_dir = location.path;
  selector.recursive = true;
  const auto entries = files::check_io(location.fs->GetFileInfo(selector), "read", folder);
  std::vector<std::string> folders;
  for (const arrow::fs::FileInfo& entry : entries) {
    const std::string relative = entry.path().substr(location.path.size() + 1);
    if (published.contains(relative)) continue;
    if (entry.IsDirectory()) {
      folders.push_back(entry.path());
    } else {
      files::check_io(location.fs->DeleteFile(entry.path()), "remove", join_uri(folder, relative));
    }
  }
  // Then the folders, deepest first (S3 keeps an emptied folder as a marker object).
  std::sort(folders.begin(), folders.end(), std::greater<>());
  for (const std::string& path : folders) {
    const arrow::fs::FileInfo info =
        files::check_io(location.fs->GetFileInfo(path), "remove", path);
    if (info.IsDirectory()) files::check_io(location.fs->DeleteDir(path), "remove", path);
  }
}

std::unique_ptr<ResumableOutput> ResumableOutput::open(const std::string& folder,
                                                       const WriterOptions& options,
                                                       bool overwrite) {
  return std::make_unique<FolderOutput>(folder, options, overwrite);
}

}  // namespace pomona
