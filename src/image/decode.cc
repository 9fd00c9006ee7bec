// decode_image: picks the decoder from the leading bytes, as Pillow's Image.open does.
#include "jpeg_decode.h"
#include "png_decode.h"
#include "pomona/image.h"

namespace pomona {

namespace {

Result<Rgb8Image> decode_sniffed(std::span<const uint8_t> bytes, int64_t max_pixels,
                                 int jpeg_draft_size) {
  if (bytes.empty()) return Result<Rgb8Image>::failure("empty file: not a JPEG or PNG image");
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    return image_internal::decode_jpeg(bytes, max_pixels, jpeg_draft_size);
  }
  if (image_internal::has_png_signature(bytes)) {
    return image_internal::decode_png(bytes, max_pixels);
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
