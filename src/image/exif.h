// EXIF orientation as Pillow 13's ImageOps.exif_transpose reads and applies it (--exif-transpose).
#pragma once

#include <cstdint>
#include <span>

#include "pomona/image.h"

namespace pomona::image_internal {

// The Orientation (tag 0x0112) that Pillow's Image.getexif() reports for a JPEG or PNG, or 1 when
// there is none, it is damaged, or the format is neither. Where Pillow looks:
//  - JPEG: APP1 "Exif\0\0" segments before the scan (the first one, with later ones appended);
//  - PNG: the last eXIf chunk or tEXt "exif", else a "Raw profile type exif" text chunk, read
//    up to IEND (exif_transpose loads the image first, so chunks after IDAT count);
//  - when that EXIF has no Orientation: tiff:Orientation in the XMP (JPEG APP1 XMP, PNG text
//    "XML:com.adobe.xmp").
// Only the values 2..8 transpose; anything else (including a BYTE or ASCII typed tag, which
// Pillow does not turn into a number) reads as returned. Never reads outside bytes.
int exif_orientation(std::span<const uint8_t> bytes);

// Pillow's Image.transpose for orientation's method: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180,
// 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90; any other value
// returns the image as it is.
Rgb8Image transpose_for_orientation(Rgb8Image image, int orientation);

}  // namespace pomona::image_internal
