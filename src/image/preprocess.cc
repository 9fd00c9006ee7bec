// preprocess_keras: Keras' mobilenet_v2.preprocess_input (mode 'tf') on float32 pixels.
#include <cstddef>

#include "pomona/image.h"

namespace pomona {

void preprocess_keras(const Rgb8Image& image, float* out) {
  // Keras computes x /= 127.5; x -= 1. in float32. Multiplying by the reciprocal instead would
  // round 111 of the 256 byte values differently, so this stays a division.
  constexpr float kHalfRange = 127.5f;
  const size_t size = image.pixels.size();
  const uint8_t* pixels = image.pixels.data();
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<float>(pixels[i]) / kHalfRange - 1.0f;
}

}  // namespace pomona
