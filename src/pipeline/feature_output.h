// Where featurize's rows go, chosen in one place (pipeline.h, FeaturizeOptions::output and pca):
//  - OUTPUT.parquet: one file written afresh; with a PCA the rows are staged in a hidden file
//    beside it while their features feed the PCA (PcaReducer, reduce.h);
//  - a folder: resumed (ResumableOutput, table.h), only the inputs not done are featurized; with
//    a PCA the resumable rows live in OUTPUT/_unreduced and the PCA is refit on all of them.
// With a PCA, the output itself is published with its pca column once the rows are committed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pomona/io.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"
#include "reduce.h"

namespace pomona {

class FeatureOutput {
 public:
  // Opens the output for the listed inputs, which the caller holds the OutputLock of: removes
  // what killed runs left, refuses foreign files (unless options.overwrite), and for a folder
  // drops the rows that will be redone and counts summary.skipped and summary.vanished.
  // writer_options: the rows' (feature_dim, settings, rows_per_file).
  FeatureOutput(const FeaturizeOptions& options, const WriterOptions& writer_options,
                std::vector<ObjectInfo> inputs, Summary& summary);
  ~FeatureOutput();

  // The inputs left to featurize, in listing order.
  const std::vector<ObjectInfo>& todo() const { return todo_; }
  // Rows in the order of todo(). Throws what RowWriter::append and the PCA's checks throw.
  void append(FeatureRow row);
  // All of todo() appended: commits the rows and, with a PCA, fits it, saves the model and
  // publishes the output with its pca column. Fills summary's files (and pca fields); sets
  // summary.stopped when options.stop comes before the PCA output is published.
  void publish(Summary& summary);
  // The run was stopped: a folder keeps the rows appended so far for the next run to resume
  // (summary.files: the parts published); a single file publishes nothing.
  void publish_partial(Summary& summary);

 private:
  const FeaturizeOptions& options_;
  const WriterOptions writer_options_;
  std::optional<PcaReducer> reducer_;           // single-file output with a PCA
  std::string unreduced_;                       // folder output with a PCA: OUTPUT/_unreduced
  std::unique_ptr<ResumableOutput> resumable_;  // folder output
  std::unique_ptr<RowWriter> writer_;
  std::vector<ObjectInfo> todo_;
};

}  // namespace pomona
