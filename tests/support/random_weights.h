// Seeded random weights with the shapes a MobileNetV2 spec needs, for tests and benchmarks that
// need a working network but not ImageNet's weights.
#pragma once

#include <cstdint>

#include "pomona/model.h"

namespace pomona::model {

// Kernels scaled by 1/sqrt(fan-in) and batch norms near identity, so activations stay in
// ReLU6's working range through all the layers.
KerasWeights random_mobilenet_v2_weights(const MobileNetV2Spec& spec, uint32_t seed);

}  // namespace pomona::model
