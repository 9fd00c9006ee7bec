// decode_image: picks the decoder from the leading bytes, as Pillow's Image.open does.
#include "decode_common.h"
#include "jpeg_decode.h"
#include "png_decode.h"
#include "pomona/image.h"

namespace pomona {

namespace {

Result<Rgb8Image> decode_sniffed(std::span<const uint8_t> bytes, int64_t max_pixels,
                                 int jpeg_draft_size) {
  if (bytes.empty()) return Result<Rgb8Image>::failure("empty file: not a JPEG or PNG image");
  switch (image_internal::sniff_format(bytes)) {
    case image_internal::ImageFormat::kJpeg:
      return image_internal::decode_jpeg(bytes, max_pixels, jpeg_draft_size);
    case image_internal::ImageFormat::kPng:
      return image_internal::decode_png(bytes, max_pixels);
    case image_internal::ImageFormat::kOther:
      break;
  }
  return Result<Rgb8Image>::failure("not a JPEG or PNG image");
}

}  // namespace

Result<Rgb8Image> decode_image(std::span<const uint8_t> bytes, int64_t max_pixels) {
  return decode_sniffed(bytes, max_pixels, 0);
}

Result<Rgb8Image> decode_image_draft(std::span<const uint8_t> bytes, int draft_size,
                                     int64_t max_pixels) {
  return decode_sniffed(bytes, max_pixels, draft_size);
}

}  // namespace pomona
