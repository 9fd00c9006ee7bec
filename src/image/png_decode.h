// PNG -> RGB8 exactly as Pillow's Image.open(...).convert('RGB'): see decode_image in
// include/pomona/image.h. Internal to pomona_image.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "decode_common.h"
#include "pomona/error.h"
#include "pomona/image.h"

namespace pomona::image_internal {

// Requires has_png_signature(bytes).
Result<Rgb8Image> decode_png(std::span<const uint8_t> bytes, int64_t max_pixels);

// The same, writing the rows to `sink` (top to bottom as they are inflated, unless interlaced).
// Fails with the error message (the sink may have taken some rows by then).
Status decode_png(std::span<const uint8_t> bytes, int64_t max_pixels, RgbRowSink& sink);

// header_refusal (include/pomona/image.h) for bytes with the PNG signature.
Status png_header_refusal(std::span<const uint8_t> prefix, int64_t max_pixels);

}  // namespace pomona::image_internal
