// image/: bytes -> RGB8 image -> network input, exactly as the notebook does it with Pillow and
// Keras: Image.open(bytes).convert('RGB').resize((size, size)) then preprocess_input (x/127.5-1).
// Knows nothing of files, models or tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pomona/error.h"

namespace pomona {

// Pillow's Image.MAX_IMAGE_PIXELS: larger images are refused as decompression bombs.
inline constexpr int64_t kMaxImagePixels = 89'478'485;

// Interleaved 8-bit RGB, rows top to bottom, no padding: pixels.size() == width*height*3.
struct Rgb8Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a JPEG or PNG (format sniffed from the bytes, not the name) to RGB the way Pillow's
// Image.open(...).convert('RGB') does for every colour mode (grey, grey+alpha, palette, RGB,
// RGBA, 16-bit, CMYK/YCCK JPEG). Returns a one-line error for empty, truncated, corrupt or
// unsupported data, and for images above max_pixels, refused before the pixels are allocated.
Result<Rgb8Image> decode_image(std::span<const uint8_t> bytes,
                               int64_t max_pixels = kMaxImagePixels);

// Opt-in fast decode (--jpeg-draft): what Pillow gives for
//   im = Image.open(bytes); im.draft('RGB', (draft_size, draft_size)); im.convert('RGB')
// A JPEG is decoded at the largest of the scales 1/8, 1/4, 1/2 in libjpeg's DCT domain that keeps
// both sides >= draft_size (else full size), ceil(side / scale) pixels each way; the caller then
// resizes it with resize_like_pillow, as .resize((draft_size, draft_size)) resizes the whole
// reduced image (draft's returned box is not used by resize). A PNG decodes as decode_image
// does (Pillow's draft ignores it). max_pixels applies to the full-size header.
Result<Rgb8Image> decode_image_draft(std::span<const uint8_t> bytes, int draft_size,
                                     int64_t max_pixels = kMaxImagePixels);

// Pillow's Image.resize((width, height)) with its default filter (BICUBIC, antialiased when
// shrinking, fixed-point arithmetic, horizontal pass then vertical pass): byte-identical output.
// Requires src non-empty, width > 0, height > 0.
Rgb8Image resize_like_pillow(const Rgb8Image& src, int width, int height);

// decode_image (jpeg_draft_size == 0) or decode_image_draft(bytes, jpeg_draft_size), then
// resize_like_pillow(width, height): the same bytes and errors, in one pass. A JPEG or
// non-interlaced PNG is resized strip by strip as it decodes whenever Pillow runs the horizontal
// pass first (shrinking any photo that is not more than twice as tall as wide), so the full-size
// image is never held: per image, memory is one strip of source rows plus width*3 bytes per
// source row. Requires width > 0, height > 0.
Result<Rgb8Image> decode_resized_like_pillow(std::span<const uint8_t> bytes, int width, int height,
                                             int jpeg_draft_size = 0,
                                             int64_t max_pixels = kMaxImagePixels);

// Opt-in (--exif-transpose): decode_resized_like_pillow after Pillow's ImageOps.exif_transpose,
// as in Image.open(bytes) [.draft] -> exif_transpose -> .convert('RGB') -> .resize(...). An image
// whose EXIF (or XMP) Orientation is 2..8 is decoded whole and transposed before the resize;
// any other, absent or damaged EXIF included, is exactly decode_resized_like_pillow. Same errors.
Result<Rgb8Image> decode_exif_transposed_resized_like_pillow(std::span<const uint8_t> bytes,
                                                             int width, int height,
                                                             int jpeg_draft_size = 0,
                                                             int64_t max_pixels = kMaxImagePixels);

// Looks only at the header, in the first bytes of a file: the error every decoder above gives for
// a JPEG or PNG whose header declares no pixels or more than max_pixels (a decompression bomb),
// so that such a file can be refused without reading the rest. Ok when the header is accepted,
// is not complete in `prefix` (the first scan or image data must start in it) or is refused for
// another reason, and for other formats: only decoding the whole file tells then. A failure is
// the decoders' error for every file that starts with `prefix`.
Status header_refusal(std::span<const uint8_t> prefix, int64_t max_pixels = kMaxImagePixels);

// Keras' mobilenet_v2.preprocess_input in float32: out[i] = pixels[i] / 127.5 - 1, NHWC order
// (the layout of Rgb8Image). Requires out to hold width*height*3 floats.
void preprocess_keras(const Rgb8Image& image, float* out);

}  // namespace pomona
