// The rows of a features file batch by batch (table.h's read_row_batches), with the features of
// the good rows packed into one row-major block, as the PCA and the projection take them.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "pomona/table.h"

namespace pomona::report {

struct RowBatch {
  std::span<const FeatureRow> rows;  // every row of the batch, error rows included
  // The features of the rows with features, row-major, `dim` floats each, in row order;
  // good_rows[i] is the index in `rows` of the i-th of them.
  std::vector<float> features;
  std::vector<int64_t> good_rows;
  int dim = 0;  // 0 until the input's first row with features
};

// Calls visit for each batch of at most 1024 rows of `path` (a .parquet file or a folder of part
// files), reusing one RowBatch. Throws what read_row_batches throws, and JobError(kInputOutput)
// naming the row whose features length differs from the earlier rows'.
void for_each_row_batch(const std::string& path, const std::function<void(const RowBatch&)>& visit);

}  // namespace pomona::report
