// The PCA stage of featurize (pipeline.h, FeaturizeOptions::pca): rows are written to a hidden
// staging output while their features feed an accumulator; finish() fits, saves the model and
// streams the staged rows into the real output with their pca column.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pomona/pca.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"

namespace pomona {

// Collects the features of good rows into a PcaAccumulator in blocks (BLAS works on many rows at
// once), checked by FeatureBlock (table.h) so that errors name the row's path.
class FeatureAccumulator {
 public:
  // dim 0: taken from the first good row.
  explicit FeatureAccumulator(int dim = 0);
  // Throws FeatureBlock::add's JobError(kInputOutput) "<source>: row <path> ..." for a bad row.
  void add(const FeatureRow& row, const std::string& source);
  // Flushes the pending block and hands out the statistics (dim 0 when no row was added).
  std::unique_ptr<PcaAccumulator> finish();

 private:
  void flush();

  int dim_;
  std::optional<FeatureBlock> pending_;  // made by the first add(), which names the source
  std::unique_ptr<PcaAccumulator> accumulator_;
};

// The statistics of the good rows of a feature file or folder (null when there are none); dim 0:
// taken from the first good row. Throws what FeatureAccumulator::add throws.
std::unique_ptr<PcaAccumulator> statistics_of(const std::string& features, int dim = 0);

// Fits on statistics (null: no rows), saves the model to options.pca_model (or the default path),
// writes options.output from the rows of `staging` with their pca column, recording settings (the
// rows' feature_settings), and fills summary's files and pca fields. When options.stop is set
// before that is done, sets summary.stopped and publishes no _SUCCESS. Throws
// JobError(kConfiguration) for fewer than 2 rows.
void publish_with_pca(const PcaAccumulator* statistics, const std::string& staging,
                      const FeaturizeOptions& options,
                      const std::map<std::string, std::string>& settings, Summary& summary);

class PcaReducer {
 public:
  PcaReducer(const std::string& output, int feature_dim);
  // Removes the staging output, whether or not finish() ran.
  ~PcaReducer();
  PcaReducer(const PcaReducer&) = delete;
  PcaReducer& operator=(const PcaReducer&) = delete;

  // Where featurize writes its rows first: hidden, beside the output, of the same kind.
  const std::string& staging_output() const { return staging_; }
  void observe(const FeatureRow& row) { features_.add(row, output_); }
  // Once the staging output is committed: publish_with_pca of the rows observed.
  void finish(const FeaturizeOptions& options, const std::map<std::string, std::string>& settings,
              Summary& summary);

 private:
  std::string output_;
  std::string staging_;
  FeatureAccumulator features_;
};

}  // namespace pomona
