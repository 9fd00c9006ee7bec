// preprocess_keras against numpy's float32 x / 127.5 - 1, written by
// tools/make_resize_fixtures.py into POMONA_RESIZE_FIXTURES_DIR.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "pomona/image.h"

namespace pomona {
namespace {

std::vector<float> numpy_preprocessed_bytes() {
  const std::string path = std::string(POMONA_RESIZE_FIXTURES_DIR) + "/keras_preprocess.f32";
  std::ifstream file(path, std::ios::binary);
  std::vector<float> values(256);
  file.read(reinterpret_cast<char*>(values.data()), values.size() * sizeof(float));
  if (!file) ADD_FAILURE() << "missing fixture " << path << ": run tools/make_resize_fixtures.py";
  return values;
}

Rgb8Image every_byte_value() {
  Rgb8Image image{16, 16, std::vector<uint8_t>(16 * 16 * 3)};
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i % 256);
  return image;
}

TEST(PreprocessKeras, IsBitIdenticalToNumpyFloat32ForAllByteValues) {
  const std::vector<float> expected = numpy_preprocessed_bytes();
  const Rgb8Image image = every_byte_value();
  std::vector<float> out(image.pixels.size());

  preprocess_keras(image, out.data());

  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t got_bits, expected_bits;
    std::memcpy(&got_bits, &out[i], sizeof(float));
    std::memcpy(&expected_bits, &expected[image.pixels[i]], sizeof(float));
    EXPECT_EQ(got_bits, expected_bits) << "byte value " << int(image.pixels[i]);
  }
}

TEST(PreprocessKeras, MapsTheByteRangeOntoMinusOneToOne) {
  const Rgb8Image image{1, 1, {0, 255, 51}};
  float out[3];
  preprocess_keras(image, out);
  EXPECT_EQ(out[0], -1.0f);
  EXPECT_EQ(out[1], 1.0f);
  // 51 / 127.5 rounds to 0.4f before the subtraction; multiplying by 1/127.5f would not.
  EXPECT_EQ(out[2], 51.0f / 127.5f - 1.0f);
  EXPECT_NE(out[2], 51.0f * (1.0f / 127.5f) - 1.0f);
}

}  // namespace
}  // namespace pomona
