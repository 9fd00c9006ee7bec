#include "row_batches.h"

#include "pomona/error.h"

namespace pomona::report {

// About 5 MB of 1280-d features per batch.
constexpr int64_t kBatchRows = 1024;

void for_each_row_batch(const std::string& path,
                        const std::function<void(const RowBatch&)>& visit) {
  RowBatch batch;
  read_row_batches(path, kBatchRows, [&](std::vector<FeatureRow>& rows) {
    batch.rows = rows;
    batch.features.clear();
    batch.good_rows.clear();
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::vector<float>& features = rows[i].features;
      if (rows[i].error || features.empty()) continue;
      if (batch.dim == 0) batch.dim = static_cast<int>(features.size());
      if (static_cast<int>(features.size()) != batch.dim) {
        throw JobError(ExitCode::kInputOutput,
                       path + ": " + rows[i].path + " has " + std::to_string(features.size()) +
                           " features where earlier rows have " + std::to_string(batch.dim));
      }
      batch.features.insert(batch.features.end(), features.begin(), features.end());
      batch.good_rows.push_back(static_cast<int64_t>(i));
    }
    visit(batch);
  });
}

}  // namespace pomona::report
