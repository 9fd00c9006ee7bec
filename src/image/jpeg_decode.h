// JPEG -> RGB8 exactly as Pillow's Image.open(...).convert('RGB'): see decode_image in
// include/pomona/image.h. Internal to pomona_image.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "decode_common.h"
#include "pomona/error.h"
#include "pomona/image.h"

namespace pomona::image_internal {

// Requires has_jpeg_soi(bytes) (jpeg_markers.h). With draft_size > 0, decodes at
// the reduced scale Pillow's Image.draft(mode, (draft_size, draft_size)) picks (see
// decode_image_draft in include/pomona/image.h).
Result<Rgb8Image> decode_jpeg(std::span<const uint8_t> bytes, int64_t max_pixels,
                              int draft_size = 0);

// The same, writing the rows to `sink` as libjpeg produces them. Fails with the error message (the
// sink may have taken some rows by then).
Status decode_jpeg(std::span<const uint8_t> bytes, int64_t max_pixels, int draft_size,
                   RgbRowSink& sink);

// header_refusal (include/pomona/image.h) for bytes with has_jpeg_soi.
Status jpeg_header_refusal(std::span<const uint8_t> prefix, int64_t max_pixels);

}  // namespace pomona::image_internal
