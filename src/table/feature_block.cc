// FeatureBlock and read_feature_blocks (include/pomona/table.h).
#include <algorithm>
#include <cmath>
#include <utility>

#include "pomona/error.h"
#include "pomona/table.h"

namespace pomona {

FeatureBlock::FeatureBlock(std::string source, int dim) : source_(std::move(source)), dim_(dim) {}

bool FeatureBlock::add(const FeatureRow& row) {
  if (row.error) {
    ++offered_;
    return false;
  }
  add(row.path, row.features);
  return true;
}

void FeatureBlock::add(std::string_view row, std::span<const float> features) {
  const auto bad_row = [&](const std::string& problem) {
    const std::string where = source_.empty() ? std::string() : source_ + ": ";
    return JobError(ExitCode::kInputOutput, where + "row " + std::string(row) + " " + problem);
  };
  const int dim = dim_ != 0 ? dim_ : static_cast<int>(features.size());
  if (features.empty() || static_cast<int64_t>(features.size()) != dim) {
    throw bad_row("has " + std::to_string(features.size()) + " features, expected " +
                  (dim_ != 0 ? std::to_string(dim_) : std::string("at least 1")));
  }
  const auto bad =
      std::find_if(features.begin(), features.end(), [](float v) { return !std::isfinite(v); });
  if (bad != features.end()) {
    throw bad_row("has a NaN or infinite feature (" + std::to_string(*bad) + " at index " +
                  std::to_string(bad - features.begin()) + ")");
  }
  dim_ = dim;
  values_.insert(values_.end(), features.begin(), features.end());
  good_rows_.push_back(offered_++);
}

void FeatureBlock::clear() {
  offered_ = 0;
  values_.clear();
  good_rows_.clear();
}

void read_feature_blocks(
    const std::string& path, int dim, int64_t batch_rows,
    const std::function<void(std::vector<FeatureRow>& rows, const FeatureBlock& block)>& consume) {
  FeatureBlock block(path, dim);
  read_row_batches(path, batch_rows, [&](std::vector<FeatureRow>& rows) {
    block.clear();
    for (const FeatureRow& row : rows) block.add(row);
    consume(rows, block);
  });
}

}  // namespace pomona
