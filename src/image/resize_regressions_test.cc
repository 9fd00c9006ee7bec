// Resizes the fuzzer found wrong (fuzz/resize_fuzzer.cc; reproducers in
// tests/fixtures/fuzz/resize_fuzzer/, replayed under ASan by the fuzz build's ctest).
#include <gtest/gtest.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include "pomona/image.h"
#include "resize_kernels.h"

namespace pomona {
namespace {

using image_internal::available_resize_isas;
using image_internal::isa_name;
using image_internal::resize_like_pillow_on;
using image_internal::ResizeIsa;

Rgb8Image numbered_image(int width, int height) {
  Rgb8Image image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = (i * 37 + 11) % 251;
  return image;
}

// Sources narrower than a vector's read past a row (5 bytes for AVX2, 13 for AVX-512) made the
// vector paths read past the end of the image from the last rows (the fuzzer's 1x512 -> 256x256
// read 2 bytes past it): those rows now come from a padded copy, with the same bytes as scalar.
TEST(ResizeRegressions, SourcesNarrowerThanAVectorGiveTheScalarBytesOnEveryIsa) {
  for (int src_width = 1; src_width <= 5; ++src_width) {
    for (const auto& [src_height, width, height] :
         std::vector<std::tuple<int, int, int>>{{512, 256, 256}, {7, 9, 3}, {1, 8, 1}, {3, 2, 2}}) {
      const Rgb8Image source = numbered_image(src_width, src_height);
      const Rgb8Image expected = resize_like_pillow_on(ResizeIsa::kScalar, source, width, height);
      for (const ResizeIsa isa : available_resize_isas()) {
        EXPECT_EQ(resize_like_pillow_on(isa, source, width, height).pixels, expected.pixels)
            << src_width << "x" << src_height << " -> " << width << "x" << height << " on "
            << isa_name(isa);
      }
    }
  }
}

TEST(ResizeRegressions, OnePixelWideConstantColumnStaysConstantWhenEnlarged) {
  Rgb8Image column{1, 512, {}};
  for (int y = 0; y < 512; ++y) column.pixels.insert(column.pixels.end(), {200, 10, 99});
  for (const ResizeIsa isa : available_resize_isas()) {
    const Rgb8Image resized = resize_like_pillow_on(isa, column, 256, 256);
    for (size_t i = 0; i < resized.pixels.size(); i += 3) {
      ASSERT_EQ(resized.pixels[i], 200) << isa_name(isa) << " at byte " << i;
      ASSERT_EQ(resized.pixels[i + 1], 10) << isa_name(isa) << " at byte " << i;
      ASSERT_EQ(resized.pixels[i + 2], 99) << isa_name(isa) << " at byte " << i;
    }
  }
}

}  // namespace
}  // namespace pomona
