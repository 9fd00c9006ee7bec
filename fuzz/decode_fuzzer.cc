// decode_image and decode_image_draft on arbitrary bytes: any outcome but a value or a one-line
// error (a crash, out-of-bounds access, UB, leak, hang or unbounded allocation) is a bug. And the
// streaming decode_resized_like_pillow (and its EXIF variant) must give exactly the bytes or the
// error of decoding whole, then resizing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pomona/image.h"

namespace {

// Small enough that a declared bomb is refused before any large allocation, big enough for
// every seed (4 M pixels = 12 MB of RGB).
constexpr int64_t kFuzzMaxPixels = 4'000'000;

void check_decoded(const pomona::Result<pomona::Rgb8Image>& decoded) {
  if (!decoded.ok()) {
    if (decoded.error().empty()) std::abort();  // a refusal must say why
    return;
  }
  const pomona::Rgb8Image& image = decoded.value();
  if (image.width <= 0 || image.height <= 0 ||
      static_cast<int64_t>(image.width) * image.height > kFuzzMaxPixels ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) {
    std::abort();
  }
}

// The target size from two bytes of the input, so that both of Pillow's pass orders, enlarging
// and shrinking, are reached.
int target_side(const uint8_t* data, size_t size, size_t at) {
  return size > at ? 1 + data[size - 1 - at] % 64 : 7;
}

void check_streamed_equals_whole(std::span<const uint8_t> bytes, int width, int height) {
  const pomona::Result<pomona::Rgb8Image> whole = pomona::decode_image(bytes, kFuzzMaxPixels);
  const pomona::Result<pomona::Rgb8Image> streamed =
      pomona::decode_resized_like_pillow(bytes, width, height, 0, kFuzzMaxPixels);
  check_decoded(streamed);
  if (whole.ok() != streamed.ok()) std::abort();
  if (!whole.ok()) {
    if (whole.error() != streamed.error()) std::abort();
  } else if (pomona::resize_like_pillow(whole.value(), width, height).pixels !=
             streamed.value().pixels) {
    std::abort();
  }
  check_decoded(
      pomona::decode_exif_transposed_resized_like_pillow(bytes, width, height, 0, kFuzzMaxPixels));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  check_decoded(pomona::decode_image(bytes, kFuzzMaxPixels));
  // The draft size from the last byte: 0..255 covers every DCT scale for the seed sizes.
  const int draft_size = size > 0 ? data[size - 1] : 224;
  check_decoded(pomona::decode_image_draft(bytes, draft_size, kFuzzMaxPixels));
  check_streamed_equals_whole(bytes, target_side(data, size, 1), target_side(data, size, 2));
  return 0;
}
