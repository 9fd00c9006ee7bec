// Shared by the JPEG and PNG decoders: the decompression-bomb guard and the output allocation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/image.h"

namespace pomona::image_internal {

// Pillow refuses images that are empty or have more than max_pixels pixels (decompression
// bombs) from their header, before allocating. Returns the error message, or "" when accepted.
inline std::string refuse_size(int64_t width, int64_t height, int64_t max_pixels) {
  if (width <= 0 || height <= 0) {
    return "image has no pixels (" + std::to_string(width) + "x" + std::to_string(height) + ")";
  }
  if (width * height > max_pixels) {
    return "image is " + std::to_string(width) + "x" + std::to_string(height) + " = " +
           std::to_string(width * height) + " pixels, above the limit of " +
           std::to_string(max_pixels) + " (possible decompression bomb)";
  }
  return "";
}

inline Rgb8Image allocate_rgb8(int width, int height) {
  return {width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
}

// Allocates a width x height RGB8 image, or refuses it (without allocating) as refuse_size does.
inline Result<Rgb8Image> allocate_rgb8(int64_t width, int64_t height, int64_t max_pixels) {
  if (std::string refused = refuse_size(width, height, max_pixels); !refused.empty()) {
    return Result<Rgb8Image>::failure(refused);
  }
  return allocate_rgb8(static_cast<int>(width), static_cast<int>(height));
}

}  // namespace pomona::image_internal
