// Shared by the JPEG and PNG decoders: the decompression-bomb guard and the output allocation.
#pragma once

#include <cstdint>
#include <string>

#include "pomona/error.h"
#include "pomona/image.h"

namespace pomona::image_internal {

// Allocates a width x height RGB8 image, or refuses it (without allocating) when it is empty or
// has more than max_pixels pixels, the way Pillow refuses decompression bombs.
inline Result<Rgb8Image> allocate_rgb8(int64_t width, int64_t height, int64_t max_pixels) {
  if (width <= 0 || height <= 0) {
    return Result<Rgb8Image>::failure("image has no pixels (" + std::to_string(width) + "x" +
                                      std::to_string(height) + ")");
  }
  if (width * height > max_pixels) {
    return Result<Rgb8Image>::failure(
        "image is " + std::to_string(width) + "x" + std::to_string(height) + " = " +
        std::to_string(width * height) + " pixels, above the limit of " +
        std::to_string(max_pixels) + " (possible decompression bomb)");
  }
  Rgb8Image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.pixels.resize(static_cast<size_t>(width * height * 3));
  return image;
}

}  // namespace pomona::image_internal
