#include "ops/batch_norm.h"

#include <cmath>

namespace pomona::model {

FoldedConvolution fold_batch_norm(const WeightTensor& kernel,
                                  const std::vector<WeightTensor>& batch_norm) {
  const std::vector<float>& gamma = batch_norm[0].values;
  const std::vector<float>& beta = batch_norm[1].values;
  const std::vector<float>& mean = batch_norm[2].values;
  const std::vector<float>& variance = batch_norm[3].values;
  const size_t channels = gamma.size();

  std::vector<double> scale(channels);
  FoldedConvolution folded;
  folded.bias.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    scale[c] = static_cast<double>(gamma[c]) / std::sqrt(variance[c] + kBatchNormEpsilon);
    folded.bias[c] = static_cast<float>(beta[c] - mean[c] * scale[c]);
  }
  folded.kernel.resize(kernel.values.size());
  for (size_t i = 0; i < kernel.values.size(); ++i) {
    folded.kernel[i] = static_cast<float>(kernel.values[i] * scale[i % channels]);
  }
  return folded;
}

}  // namespace pomona::model
