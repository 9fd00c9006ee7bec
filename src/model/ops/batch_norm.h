// BatchNormalization (inference) folded into the convolution before it.
#pragma once

#include <vector>

#include "pomona/model.h"

namespace pomona::model {

// Keras' BatchNormalization epsilon in MobileNetV2.
inline constexpr double kBatchNormEpsilon = 1e-3;

// A convolution kernel (Keras layout) and bias equal to the convolution followed by the
// batch norm: kernel * gamma / sqrt(var + eps), beta - mean * gamma / sqrt(var + eps).
struct FoldedConvolution {
  std::vector<float> kernel;
  std::vector<float> bias;
};

// kernel: Keras Conv2D HWIO or DepthwiseConv2D (h, w, channels, 1) weights, whose output
// channel is the fastest-varying index. batch_norm: gamma, beta, moving_mean,
// moving_variance, one value per output channel. Computed in double, rounded once to float.
// Requires shapes that fit each other (checked by check_weights()).
FoldedConvolution fold_batch_norm(const WeightTensor& kernel,
                                  const std::vector<WeightTensor>& batch_norm);

}  // namespace pomona::model
