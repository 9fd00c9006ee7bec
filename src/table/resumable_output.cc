// ResumableOutput (include/pomona/table.h): part files plus a manifest replaced after each one.
#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/table.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <unordered_set>

#include "io/arrow_status.h"
#include "part_file.h"
#include "pomona/error.h"
#include "pomona/table.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;
using internal::throw_output_error;

constexpr char kSuccessName[] = "_SUCCESS";

struct ManifestPart {
  std::string file;
  int64_t rows = 0;
};

[[noreturn]] void throw_not_resumable(const fs::path& file, const std::string& reason) {
  throw JobError(ExitCode::kConfiguration,
                 file.string() + " " + reason + ": pass --overwrite to start this output afresh");
}

std::vector<ManifestPart> read_manifest(const fs::path& path) {
  std::vector<ManifestPart> parts;
  std::error_code error;
  if (!fs::exists(path, error)) return parts;
  std::ifstream in(path);
  if (!in) throw_output_error("read", path, std::strerror(errno));
  static const std::regex kLine(R"re(\{"file": "(part-[0-9]+\.parquet)", "rows": ([0-9]+)\})re");
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (!std::regex_match(line, match, kLine)) {
      throw_not_resumable(path, "is not a manifest Pomona wrote (line \"" + line + "\")");
    }
    parts.push_back({match[1].str(), std::stoll(match[2].str())});
  }
  return parts;
}

// Replaces the manifest by rename, so that a reader sees the old or the new list, never half.
void write_manifest(const fs::path& folder, const std::vector<ManifestPart>& parts) {
  const fs::path path = folder / internal::kManifestName;
  const fs::path temp = folder / internal::temp_name_of(path);
  std::ostringstream text;
  for (const ManifestPart& part : parts) {
    text << "{\"file\": \"" << part.file << "\", \"rows\": " << part.rows << "}\n";
  }
  const std::string bytes = text.str();
  FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) throw_output_error("write", path, std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size() &&
                       std::fflush(file) == 0 && fsync(fileno(file)) == 0;
  const std::string reason = std::strerror(errno);
  std::fclose(file);
  if (!written) throw_output_error("write", path, reason);
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) throw_output_error("publish", path, error.message());
  // The rename of the part file this line lists and of the manifest, durable together.
  internal::sync_folder(folder);
}

template <typename T>
T check_read(arrow::Result<T> result, const fs::path& file) {
  if (!result.ok()) throw_output_error("read", file, internal::reason_of(result.status()));
  return std::move(result).ValueUnsafe();
}

// The identity columns of one part file, without its features.
void read_committed_inputs(const fs::path& file, std::vector<CommittedInput>& inputs) {
  auto input = check_read(arrow::io::ReadableFile::Open(file.string()), file);
  auto reader = check_read(parquet::arrow::OpenFile(input, arrow::default_memory_pool()), file);
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
  const std::shared_ptr<arrow::Table> table =
      check_read(check_read(reader->ReadTable(leaves), file)->CombineChunks(), file);
  const auto column = [&](int i) { return table->column(i)->chunk(0); };
  if (table->num_rows() == 0) return;
  const auto paths = std::static_pointer_cast<arrow::StringArray>(column(0));
  const auto errors = column(1);
  const auto sizes = std::dynamic_pointer_cast<arrow::Int64Array>(column(2));
  const auto mtimes = std::dynamic_pointer_cast<arrow::TimestampArray>(column(3));
  if (!sizes || !mtimes) throw_not_resumable(file, "has identity columns of another type");
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    inputs.push_back({.path = paths->GetString(i),
                      .size = sizes->Value(i),
                      .mtime_ns = mtimes->Value(i),
                      .failed = errors->IsValid(i)});
  }
}

void remove_file(const fs::path& path) {
  std::error_code error;
  fs::remove(path, error);
  if (error) throw_output_error("remove", path, error.message());
}

// The part files committed so far, and where the manifest listing them lives.
struct Manifest {
  fs::path folder;
  std::vector<ManifestPart> parts;
};

class FolderOutput : public ResumableOutput {
 public:
  FolderOutput(fs::path folder, const WriterOptions& options, bool overwrite)
      : folder_(std::move(folder)),
        options_(options),
        manifest_(std::make_shared<Manifest>(Manifest{.folder = folder_})) {
    options_.input_identity = true;
    std::error_code error;
    fs::create_directories(folder_, error);
    if (error) throw_output_error("create output folder", folder_, error.message());
    // First, so that the folder stops counting as complete before anything in it changes.
    remove_file(folder_ / kSuccessName);
    if (overwrite) {
      remove_file(folder_ / internal::kManifestName);
    } else {
      manifest_->parts = read_manifest(folder_ / internal::kManifestName);
    }
    remove_leftovers();
    // Row counts from the files themselves: a run killed while rewriting a part (drop_rows_of)
    // leaves a manifest with its old count.
    for (ManifestPart& part : manifest_->parts) {
      const size_t before = committed_.size();
      read_committed_inputs(folder_ / part.file, committed_);
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
      if (touched) part.rows = rewrite_without(folder_ / part.file, dropped);
      if (part.rows > 0) {
        kept_parts.push_back(part);
        continue;
      }
      // Out of the manifest first: a crash in between leaves a stray file the next run removes.
      std::vector<ManifestPart> listed = kept_parts;
      listed.insert(listed.end(), manifest_->parts.begin() + i + 1, manifest_->parts.end());
      write_manifest(folder_, listed);
      remove_file(folder_ / part.file);
    }
    manifest_->parts = std::move(kept_parts);
    committed_ = std::move(kept_inputs);
    write_manifest(folder_, manifest_->parts);
  }

  std::unique_ptr<RowWriter> writer() override {
    int64_t first_index = 0;
    for (const ManifestPart& part : manifest_->parts) {
      first_index = std::max(first_index, *internal::part_file_index(part.file) + 1);
    }
    // Shared: the writer may outlive this object.
    internal::PartNumbering numbering{
        .first_index = first_index,
        .on_published =
            [manifest = manifest_](const fs::path& part, int64_t rows) {
              manifest->parts.push_back({part.filename().string(), rows});
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
    std::vector<fs::path> leftovers;
    std::error_code error;
    for (fs::directory_iterator it(folder_, error), end; !error && it != end; it.increment(error)) {
      const std::string name = it->path().filename().string();
      if ((internal::part_file_index(name) && !listed.contains(name)) ||
          internal::is_temp_name(name)) {
        leftovers.push_back(it->path());
      }
    }
    if (error) throw_output_error("read output folder", folder_, error.message());
    for (const fs::path& leftover : leftovers) remove_file(leftover);
  }

  // Replaces part by a copy without the rows of `dropped`; returns the rows kept (0: nothing
  // written, the caller removes the part).
  int64_t rewrite_without(const fs::path& part, const std::unordered_set<std::string>& dropped) {
    std::vector<FeatureRow> rows = read_rows(part.string());
    std::erase_if(rows, [&](const FeatureRow& row) { return dropped.contains(row.path); });
    if (rows.empty()) return 0;
    internal::PartFile file(part, row_schema(options_), options_);
    for (const FeatureRow& row : rows) file.append(row);
    file.publish();
    return static_cast<int64_t>(rows.size());
  }

  fs::path folder_;
  WriterOptions options_;
  std::shared_ptr<Manifest> manifest_;
  std::vector<CommittedInput> committed_;
};

}  // namespace

std::unique_ptr<ResumableOutput> ResumableOutput::open(const std::string& folder,
                                                       const WriterOptions& options,
                                                       bool overwrite) {
  return std::make_unique<FolderOutput>(folder, options, overwrite);
}

}  // namespace pomona
