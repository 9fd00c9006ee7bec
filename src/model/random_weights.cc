#include "random_weights.h"

#include <cmath>
#include <random>

#include "mobilenet_v2.h"

namespace pomona::model {

KerasWeights random_mobilenet_v2_weights(const MobileNetV2Spec& spec, uint32_t seed) {
  std::mt19937 generator(seed);
  const auto uniform = [&](int64_t count, float low, float high) {
    std::uniform_real_distribution<float> distribution(low, high);
    std::vector<float> values(count);
    for (float& value : values) value = distribution(generator);
    return values;
  };

  KerasWeights weights;
  for (const ConvLayerSpec& layer : mobilenet_v2_layers(spec)) {
    const std::vector<int64_t> shape = layer.kernel_shape();
    const int64_t fan_in = shape[0] * shape[1] * shape[2] / (shape[3] == 1 ? shape[2] : 1);
    const float bound = std::sqrt(3.0f / fan_in);
    weights.mutable_layers()[layer.name] = {
        {shape, uniform(shape[0] * shape[1] * shape[2] * shape[3], -bound, bound)}};
    const int64_t c = layer.out_channels;
    weights.mutable_layers()[layer.batch_norm] = {{{c}, uniform(c, 0.5f, 1.5f)},
                                                  {{c}, uniform(c, -0.2f, 0.2f)},
                                                  {{c}, uniform(c, -0.2f, 0.2f)},
                                                  {{c}, uniform(c, 0.5f, 1.5f)}};
  }
  return weights;
}

}  // namespace pomona::model
