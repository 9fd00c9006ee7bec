// JPEG -> RGB8 exactly as Pillow's Image.open(...).convert('RGB'): see decode_image in
// include/pomona/image.h. Internal to pomona_image.
#pragma once

#include <cstdint>
#include <span>

#include "pomona/error.h"
#include "pomona/image.h"

namespace pomona::image_internal {

// Requires bytes to start with the JPEG SOI marker (FF D8 FF).
Result<Rgb8Image> decode_jpeg(std::span<const uint8_t> bytes, int64_t max_pixels);

}  // namespace pomona::image_internal
