#include "feature_output.h"

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "pomona/files.h"

namespace pomona {
namespace {

// Of the listed inputs, those not done in the resumable folder: new, changed (size or mtime
// differ) or, with retry_errors, failed before. The committed rows of changed and retried inputs
// are dropped first, so that each input keeps one row; so are those of inputs no longer listed,
// with prune_deleted.
std::vector<ObjectInfo> inputs_to_do(ResumableOutput& resumable, const FeaturizeOptions& options,
                                     std::vector<ObjectInfo> inputs, Summary& summary) {
  std::unordered_map<std::string_view, const CommittedInput*> committed;
  for (const CommittedInput& input : resumable.committed()) committed[input.path] = &input;
  std::vector<std::string> redone;
  std::unordered_set<std::string_view> listed;  // views into inputs, used before they move
  for (const ObjectInfo& input : inputs) listed.insert(input.uri);
  for (const CommittedInput& input : resumable.committed()) {
    if (listed.contains(input.path)) continue;
    ++summary.vanished;
    if (options.prune_deleted) redone.push_back(input.path);
  }
  std::vector<ObjectInfo> todo;
  for (ObjectInfo& input : inputs) {
    const auto done = committed.find(input.uri);
    if (done == committed.end()) {
      todo.push_back(std::move(input));
    } else if (done->second->size == input.size && done->second->mtime_ns == input.mtime_ns &&
               !(options.retry_errors && done->second->failed)) {
      ++summary.skipped;
    } else {
      redone.push_back(input.uri);
      todo.push_back(std::move(input));
    }
  }
  resumable.drop_rows_of(redone);
  return todo;
}

}  // namespace

FeatureOutput::FeatureOutput(const FeaturizeOptions& options, const WriterOptions& writer_options,
                             std::vector<ObjectInfo> inputs, Summary& summary)
    : options_(options), writer_options_(writer_options) {
  if (is_single_file_output(options.output)) {
    files::remove_temp_files_of(options.output);
    if (options.pca) reducer_.emplace(options.output, writer_options.feature_dim);
    writer_ =
        RowWriter::open(reducer_ ? reducer_->staging_output() : options.output, writer_options);
    todo_ = std::move(inputs);
    return;
  }
  unreduced_ = options.pca ? files::join_uri(options.output, "_unreduced") : options.output;
  if (!options.overwrite) refuse_foreign_files(options.output, unreduced_);
  // Temp files of runs that died (this run holds the lock: no live run writes here).
  if (options.pca) files::remove_temp_files(options.output);
  resumable_ = ResumableOutput::open(unreduced_, writer_options, options.overwrite);
  todo_ = inputs_to_do(*resumable_, options, std::move(inputs), summary);
  writer_ = resumable_->writer();
}

FeatureOutput::~FeatureOutput() = default;

void FeatureOutput::append(FeatureRow row) {
  if (reducer_) reducer_->observe(row);
  writer_->append(std::move(row));
}

void FeatureOutput::publish(Summary& summary) {
  summary.files = writer_->commit();
  if (!options_.pca) return;
  if (reducer_) {
    reducer_->finish(options_, writer_options_.settings, summary);
  } else {
    publish_with_pca(statistics_of(unreduced_, writer_options_.feature_dim).get(), unreduced_,
                     options_, writer_options_.settings, summary);
  }
}

void FeatureOutput::publish_partial(Summary& summary) { summary.files = writer_->commit_partial(); }

}  // namespace pomona
