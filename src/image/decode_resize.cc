// decode_resized_like_pillow: the decoders write their rows straight into the resize
// (RowStreamResizer), so that a 12-megapixel photo never exists at full size in memory.
#include <algorithm>
#include <cstring>

#include "decode_common.h"
#include "jpeg_decode.h"
#include "jpeg_markers.h"
#include "png_chunks.h"
#include "png_decode.h"
#include "pomona/image.h"
#include "resize_rows.h"

namespace pomona {
namespace image_internal {

void ImageRowSink::start(int width, int height) {
  image_ = allocate_rgb8(width, height);
  next_row_ = 0;
}

RgbRowSink::Rows ImageRowSink::next_rows() {
  return {image_.pixels.data() + static_cast<size_t>(next_row_) * image_.width * 3,
          image_.height - next_row_};
}

void write_rows(const Rgb8Image& image, RgbRowSink& sink) {
  sink.start(image.width, image.height);
  const size_t row_bytes = static_cast<size_t>(image.width) * 3;
  for (int y = 0; y < image.height;) {
    const RgbRowSink::Rows strip = sink.next_rows();
    const int rows = std::min(strip.rows, image.height - y);
    std::memcpy(strip.data, image.pixels.data() + y * row_bytes, rows * row_bytes);
    sink.rows_written(rows);
    y += rows;
  }
}

ImageFormat sniff_format(std::span<const uint8_t> bytes) {
  if (has_jpeg_soi(bytes)) return ImageFormat::kJpeg;
  return has_png_signature(bytes) ? ImageFormat::kPng : ImageFormat::kOther;
}

}  // namespace image_internal

Status header_refusal(std::span<const uint8_t> prefix, int64_t max_pixels) {
  using namespace image_internal;
  switch (sniff_format(prefix)) {
    case ImageFormat::kJpeg:
      return jpeg_header_refusal(prefix, max_pixels);
    case ImageFormat::kPng:
      return png_header_refusal(prefix, max_pixels);
    case ImageFormat::kOther:
      break;
  }
  return Status();
}

Result<Rgb8Image> decode_resized_like_pillow(std::span<const uint8_t> bytes, int width, int height,
                                             int jpeg_draft_size, int64_t max_pixels) {
  using namespace image_internal;
  RowStreamResizer resizer(width, height);
  Status decoded;
  switch (sniff_format(bytes)) {
    case ImageFormat::kJpeg:
      decoded = decode_jpeg(bytes, max_pixels, jpeg_draft_size, resizer);
      break;
    case ImageFormat::kPng:
      decoded = decode_png(bytes, max_pixels, resizer);
      break;
    case ImageFormat::kOther:
      return decode_image(bytes, max_pixels);  // fails, with decode_image's message
  }
  if (!decoded.ok()) return decoded;
  return resizer.finish();
}

}  // namespace pomona
