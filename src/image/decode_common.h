// Shared by the JPEG and PNG decoders: the decompression-bomb guard, format sniffing and where
// decoded rows go.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/image.h"

namespace pomona::image_internal {

// Pillow refuses images that are empty or have more than max_pixels pixels (decompression
// bombs) from their header, before allocating. Fails with the reason, ok when accepted.
inline Status refuse_size(int64_t width, int64_t height, int64_t max_pixels) {
  if (width <= 0 || height <= 0) {
    return Status::failure("image has no pixels (" + std::to_string(width) + "x" +
                           std::to_string(height) + ")");
  }
  if (width * height > max_pixels) {
    return Status::failure("image is " + std::to_string(width) + "x" + std::to_string(height) +
                           " = " + std::to_string(width * height) + " pixels, above the limit of " +
                           std::to_string(max_pixels) + " (possible decompression bomb)");
  }
  return Status();
}

// status with its message after `format`'s name ("JPEG: ..."), for the row's error.
inline Status in_format(const char* format, const Status& status) {
  return status.ok() ? status : Status::failure(std::string(format) + ": " + status.message());
}

// Where a decoder writes its RGB rows, top to bottom: a whole image, or the resize taking the
// rows a strip at a time (RowStreamResizer in resize_rows.h), so that no full-size copy exists.
class RgbRowSink {
 public:
  virtual ~RgbRowSink() = default;
  // The decoder accepted a width x height image (both > 0); called once, before any rows.
  virtual void start(int width, int height) = 0;
  // Room for the next rows: up to `rows` rows of width*3 bytes each, back to back at `data`.
  struct Rows {
    uint8_t* data;
    int rows;
  };
  virtual Rows next_rows() = 0;
  // The first `count` rows of the last next_rows() are written (count >= 1).
  virtual void rows_written(int count) = 0;
};

// Collects the rows into one image (decode_image).
class ImageRowSink final : public RgbRowSink {
 public:
  void start(int width, int height) override;
  Rows next_rows() override;
  void rows_written(int count) override { next_row_ += count; }
  Rgb8Image& image() { return image_; }

 private:
  Rgb8Image image_;
  int next_row_ = 0;
};

// Sends the rows of a whole image to `sink`, top to bottom (a decoder that cannot produce rows in
// order, as for interlaced PNGs, decodes whole first).
void write_rows(const Rgb8Image& image, RgbRowSink& sink);

enum class ImageFormat { kJpeg, kPng, kOther };

// What Image.open would read the bytes as, from their leading bytes (never the name).
ImageFormat sniff_format(std::span<const uint8_t> bytes);

inline Rgb8Image allocate_rgb8(int width, int height) {
  return {width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
}

}  // namespace pomona::image_internal
