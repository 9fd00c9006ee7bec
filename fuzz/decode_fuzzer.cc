// decode_image and decode_image_draft on arbitrary bytes: any outcome but a value or a one-line
// error (a crash, out-of-bounds access, UB, leak, hang or unbounded allocation) is a bug.
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  check_decoded(pomona::decode_image(bytes, kFuzzMaxPixels));
  // The draft size from the last byte: 0..255 covers every DCT scale for the seed sizes.
  const int draft_size = size > 0 ? data[size - 1] : 224;
  check_decoded(pomona::decode_image_draft(bytes, draft_size, kFuzzMaxPixels));
  return 0;
}
