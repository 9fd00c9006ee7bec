#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "pomona/image.h"

namespace pomona {
namespace {

// Written by tools/make_decode_fixtures.py (the ctest fixture make_decode_fixtures).
const std::filesystem::path kFixtures = POMONA_DECODE_FIXTURES_DIR;

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Expectation {
  std::string name;
  bool pillow_accepts = false;
  int width = 0;
  int height = 0;
};

std::vector<Expectation> read_manifest() {
  std::vector<Expectation> manifest;
  std::ifstream in(kFixtures / "manifest.tsv");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Expectation expectation;
    std::string status;
    fields >> expectation.name >> status >> expectation.width >> expectation.height;
    expectation.pillow_accepts = status == "ok";
    manifest.push_back(expectation);
  }
  return manifest;
}

// Checks decode_image against Pillow for every fixture whose name starts with prefix; returns
// how many were checked, so that a test cannot pass by matching nothing.
int expect_same_as_pillow(const std::string& prefix) {
  int checked = 0;
  for (const Expectation& expected : read_manifest()) {
    if (expected.name.rfind(prefix, 0) != 0) continue;
    ++checked;
    SCOPED_TRACE(expected.name);
    const std::vector<uint8_t> bytes = read_file(kFixtures / expected.name);
    const Result<Rgb8Image> decoded = decode_image(bytes);
    if (!expected.pillow_accepts) {
      EXPECT_FALSE(decoded.ok()) << "Pillow refuses this file";
      if (!decoded.ok()) {
        EXPECT_EQ(decoded.error().find('\n'), std::string::npos);
      }
      continue;
    }
    EXPECT_TRUE(decoded.ok()) << decoded.error();
    if (!decoded.ok()) continue;
    const Rgb8Image& image = decoded.value();
    EXPECT_EQ(image.width, expected.width);
    EXPECT_EQ(image.height, expected.height);
    EXPECT_TRUE(image.pixels == read_file(kFixtures / (expected.name + ".rgb")))
        << "pixels differ from Pillow's";
  }
  return checked;
}

TEST(DecodeImage, PngOfEveryModeMatchesPillow) { EXPECT_GE(expect_same_as_pillow("png_"), 80); }

TEST(DecodeImage, InterlacedPngMatchesPillow) {
  EXPECT_GE(expect_same_as_pillow("png_interlaced_"), 10);
}

TEST(DecodeImage, PngDamageIsRefusedExactlyWherePillowRefusesIt) {
  EXPECT_GE(expect_same_as_pillow("png_truncated_at_"), 40);
  EXPECT_EQ(expect_same_as_pillow("png_bad_"), 3);  // IHDR crc, IDAT crc (accepted), filter
  EXPECT_EQ(expect_same_as_pillow("png_stream_ends_"), 2);
  EXPECT_EQ(expect_same_as_pillow("png_after_rows_"), 4);
}

// Pillow's chunk ids are \w\w\w\w: a chunk id with digits is read (it was refused before
// IDAT), one with other characters ends the walk after the image data (png_chunks.h).
TEST(DecodeImage, PngChunkIdWithDigitsIsReadLikePillow) {
  EXPECT_EQ(expect_same_as_pillow("png_digit_chunk_id_"), 2);
}

TEST(DecodeImage, PngChunkIdOutsideWordCharactersEndsTheWalkLikePillow) {
  EXPECT_EQ(expect_same_as_pillow("png_nonword_chunk_id_"), 1);
}

// Zero-length segments, fill bytes, junk and JPGn markers as Pillow walks them (jpeg_markers.h).
TEST(DecodeImage, JpegMarkerEdgeCasesAreReadLikePillow) {
  for (const char* name : {"jpeg_zero_length_segment", "jpeg_fill_bytes_before_marker",
                           "jpeg_junk_between_segments", "jpeg_jpg_extension_marker"}) {
    EXPECT_EQ(expect_same_as_pillow(name), 1) << name;
  }
}

TEST(DecodeImage, JpegOfEveryKindMatchesPillow) {
  for (const char* kind :
       {"jpeg_baseline_", "jpeg_progressive", "jpeg_optimized", "jpeg_adobe_rgb",
        "jpeg_restart_markers", "jpeg_l", "jpeg_cmyk", "jpeg_ycck", "jpeg_tiny_"}) {
    EXPECT_GE(expect_same_as_pillow(kind), 1) << kind;
  }
}

TEST(DecodeImage, TruncatedJpegIsRefusedLikePillow) {
  EXPECT_GE(expect_same_as_pillow("jpeg_truncated_at_"), 30);
  EXPECT_GE(expect_same_as_pillow("jpeg_progressive_truncated_at_"), 15);
  EXPECT_EQ(expect_same_as_pillow("jpeg_no_eoi"), 1);
  EXPECT_EQ(expect_same_as_pillow("jpeg_garbage_"), 2);
  EXPECT_EQ(expect_same_as_pillow("jpeg_only_header"), 1);
  EXPECT_EQ(expect_same_as_pillow("jpeg_12bit"), 1);
}

TEST(DecodeImage, EmptyAndNonImageBytesAreRefused) {
  EXPECT_EQ(expect_same_as_pillow("empty"), 1);
  const Result<Rgb8Image> text = decode_image(read_file(kFixtures / "text_named_png"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error(), "not a JPEG or PNG image");
  EXPECT_FALSE(decode_image({}).ok());
}

// A 28-byte header claiming 100000x100000 RGB: allocating it would need 30 GB, so passing this
// test quickly shows the refusal comes before any pixel memory.
TEST(DecodeImage, PngBombIsRefusedFromItsHeader) {
  std::vector<uint8_t> png = read_file(kFixtures / "png_rgb8");
  ASSERT_GT(png.size(), 24u);
  const uint8_t huge[] = {0x00, 0x01, 0x86, 0xA0};  // 100000, big-endian
  std::copy(std::begin(huge), std::end(huge), png.begin() + 16);
  std::copy(std::begin(huge), std::end(huge), png.begin() + 20);
  // The header CRC must stay valid for the size to be believed: recompute it.
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 12; i < 29; ++i) {
    crc ^= png[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  const Result<Rgb8Image> decoded = decode_image(png);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().find("100000x100000"), std::string::npos) << decoded.error();
  EXPECT_NE(decoded.error().find(std::to_string(kMaxImagePixels)), std::string::npos);
}

TEST(DecodeImage, JpegBombIsRefusedFromItsHeader) {
  std::vector<uint8_t> jpeg = read_file(kFixtures / "jpeg_progressive");
  const uint8_t sof2[] = {0xFF, 0xC2};
  auto sof = std::search(jpeg.begin(), jpeg.end(), std::begin(sof2), std::end(sof2));
  ASSERT_NE(sof, jpeg.end());
  sof[5] = sof[7] = 0xEA;  // 60000 x 60000: 3.6 billion pixels, 10.8 GB of RGB
  sof[6] = sof[8] = 0x60;
  const Result<Rgb8Image> decoded = decode_image(jpeg);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().find("60000x60000"), std::string::npos) << decoded.error();
}

TEST(DecodeImage, PixelLimitIsInclusive) {
  const std::vector<uint8_t> png = read_file(kFixtures / "png_rgb8");  // 37 x 23
  EXPECT_TRUE(decode_image(png, 37 * 23).ok());
  EXPECT_FALSE(decode_image(png, 37 * 23 - 1).ok());
  const std::vector<uint8_t> jpeg = read_file(kFixtures / "jpeg_baseline_420");  // 61 x 47
  EXPECT_TRUE(decode_image(jpeg, 61 * 47).ok());
  EXPECT_FALSE(decode_image(jpeg, 61 * 47 - 1).ok());
}

TEST(DecodeImage, ZeroSizedImagesAreRefused) {
  EXPECT_EQ(expect_same_as_pillow("png_zero_size"), 1);
}

TEST(DecodeImage, FruitsSampleMatchesPillowByteForByte) {
  std::ifstream in(kFixtures / "fruits.tsv");
  int checked = 0;
  for (std::string line; std::getline(in, line); ++checked) {
    std::istringstream fields(line);
    std::string path, expected_path;
    int width = 0, height = 0;
    std::getline(fields, path, '\t');
    std::getline(fields, expected_path, '\t');
    fields >> width >> height;
    SCOPED_TRACE(path);
    const Result<Rgb8Image> decoded = decode_image(read_file(path));
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(decoded.value().width, width);
    EXPECT_EQ(decoded.value().height, height);
    EXPECT_TRUE(decoded.value().pixels == read_file(expected_path));
  }
  if (checked == 0) GTEST_SKIP() << "../shared/fruits-sample not present";
  EXPECT_EQ(checked, 180);
}

TEST(DecodeImageDraft, JpegMatchesPillowDraftThenResize) {
  std::ifstream manifest(kFixtures / "draft.tsv");
  int checked = 0;
  std::string name;
  int size, width, height;
  while (manifest >> name >> size >> width >> height) {
    SCOPED_TRACE(name);
    ++checked;
    const std::vector<uint8_t> bytes = read_file(kFixtures / name);
    const Result<Rgb8Image> decoded = decode_image_draft(bytes, size);
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(decoded.value().width, width);
    EXPECT_EQ(decoded.value().height, height);
    EXPECT_TRUE(decoded.value().pixels == read_file(kFixtures / (name + ".draft.rgb")))
        << "draft pixels differ from Pillow's";
    const std::vector<uint8_t> resized = read_file(kFixtures / (name + ".draft_resized.rgb"));
    EXPECT_TRUE(resize_like_pillow(decoded.value(), size, size).pixels == resized)
        << "resized draft differs from Pillow's";
    const Result<Rgb8Image> streamed = decode_resized_like_pillow(bytes, size, size, size);
    ASSERT_TRUE(streamed.ok()) << streamed.error();
    EXPECT_TRUE(streamed.value().pixels == resized)
        << "decode_resized_like_pillow's draft differs from Pillow's";
  }
  EXPECT_GE(checked, 12);
}

TEST(DecodeImageDraft, ReducesAsFarAsBothSidesStayAtLeastTheSize) {
  // 1800x1700 for 224: 1700 / 224 = 7, so 1/4 (450x425), not 1/8 (225x213 < 224).
  const std::vector<uint8_t> bytes = read_file(kFixtures / "draft_1800x1700_to_224");
  const Result<Rgb8Image> decoded = decode_image_draft(bytes, 224);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded.value().width, 450);
  EXPECT_EQ(decoded.value().height, 425);
}

TEST(DecodeImageDraft, BombLimitAppliesToTheFullSize) {
  // 2000x1900 decodes to 250x238 at 1/8, but the header's 3.8 megapixels decide.
  const std::vector<uint8_t> bytes = read_file(kFixtures / "draft_2000x1900_to_224");
  EXPECT_FALSE(decode_image_draft(bytes, 224, 2000 * 1900 - 1).ok());
  EXPECT_TRUE(decode_image_draft(bytes, 224, 2000 * 1900).ok());
}

TEST(DecodeImageDraft, PngDecodesAtFullSize) {
  const std::vector<uint8_t> bytes = read_file(kFixtures / "png_rgb8");
  const Result<Rgb8Image> full = decode_image(bytes);
  const Result<Rgb8Image> draft = decode_image_draft(bytes, 8);
  ASSERT_TRUE(full.ok() && draft.ok());
  EXPECT_EQ(draft.value().width, full.value().width);
  EXPECT_TRUE(draft.value().pixels == full.value().pixels);
}

TEST(DecodeResizedLikePillow, MatchesPillowsResizeOfImagesManyStripsTall) {
  std::ifstream manifest(kFixtures / "resized.tsv");
  int checked = 0;
  std::string name;
  int width, height;
  while (manifest >> name >> width >> height) {
    SCOPED_TRACE(name + " to " + std::to_string(width) + "x" + std::to_string(height));
    ++checked;
    const Result<Rgb8Image> resized =
        decode_resized_like_pillow(read_file(kFixtures / name), width, height);
    ASSERT_TRUE(resized.ok()) << resized.error();
    EXPECT_EQ(resized.value().width, width);
    EXPECT_EQ(resized.value().height, height);
    EXPECT_TRUE(resized.value().pixels ==
                read_file(kFixtures / (name + "." + std::to_string(width) + "x" +
                                       std::to_string(height) + ".rgb")))
        << "pixels differ from Pillow's";
  }
  EXPECT_GE(checked, 60);
}

TEST(DecodeResizedLikePillow, SameBytesAndErrorsAsDecodeThenResizeForEveryFixture) {
  int checked = 0;
  for (const Expectation& fixture : read_manifest()) {
    const std::vector<uint8_t> bytes = read_file(kFixtures / fixture.name);
    const Result<Rgb8Image> decoded = decode_image(bytes);
    for (const auto& [width, height] : {std::pair{224, 224}, {3, 2}, {13, 40}, {40, 13}}) {
      SCOPED_TRACE(fixture.name + " to " + std::to_string(width) + "x" + std::to_string(height));
      ++checked;
      const Result<Rgb8Image> resized = decode_resized_like_pillow(bytes, width, height);
      ASSERT_EQ(resized.ok(), decoded.ok());
      if (!decoded.ok()) {
        EXPECT_EQ(resized.error(), decoded.error());
        continue;
      }
      EXPECT_TRUE(resized.value().pixels ==
                  resize_like_pillow(decoded.value(), width, height).pixels);
    }
  }
  EXPECT_GE(checked, 4 * 150);
}

TEST(DecodeResizedLikePillow, BombIsRefusedFromItsHeader) {
  std::vector<uint8_t> jpeg = read_file(kFixtures / "jpeg_baseline_420");  // 61 x 47
  EXPECT_TRUE(decode_resized_like_pillow(jpeg, 224, 224, 0, 61 * 47).ok());
  const Result<Rgb8Image> refused = decode_resized_like_pillow(jpeg, 224, 224, 0, 61 * 47 - 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("61x47"), std::string::npos) << refused.error();
}

// Every prefix of every fixture, with a limit just under its size: the header alone either
// leaves the answer to the decoder ("") or gives exactly the decoder's error for the whole file,
// and once the header is complete (the whole file) a JPEG or PNG over the limit is refused.
// header_refusal's message, "" when it accepts.
std::string refusal_text(std::span<const uint8_t> prefix, int64_t max_pixels = kMaxImagePixels) {
  const Status refused = header_refusal(prefix, max_pixels);
  return refused.ok() ? "" : refused.message();
}

TEST(HeaderRefusal, IsTheDecodersErrorOrNothingForEveryPrefixOfEveryFixture) {
  int refused_whole = 0;
  for (const Expectation& fixture : read_manifest()) {
    SCOPED_TRACE(fixture.name);
    const std::vector<uint8_t> bytes = read_file(kFixtures / fixture.name);
    const int64_t limit =
        fixture.pillow_accepts ? int64_t{fixture.width} * fixture.height - 1 : kMaxImagePixels;
    const Result<Rgb8Image> decoded = decode_image(bytes, limit);
    const std::span<const uint8_t> all(bytes);
    for (size_t length = 0; length <= std::min<size_t>(bytes.size(), 4096); ++length) {
      const std::string refusal = refusal_text(all.first(length), limit);
      if (refusal.empty()) continue;
      ASSERT_FALSE(decoded.ok()) << "refused from " << length << " bytes: " << refusal;
      ASSERT_EQ(refusal, decoded.error()) << "from " << length << " bytes";
    }
    if (fixture.pillow_accepts) {
      EXPECT_EQ(refusal_text(bytes, limit), decoded.error());
      ++refused_whole;
    }
  }
  EXPECT_GE(refused_whole, 60);
}

TEST(HeaderRefusal, ImagesWithinTheLimitAndOtherBytesAreLeftToTheDecoder) {
  const std::vector<uint8_t> jpeg = read_file(kFixtures / "jpeg_baseline_420");  // 61 x 47
  EXPECT_EQ(refusal_text(jpeg), "");
  EXPECT_EQ(refusal_text(jpeg, 61 * 47), "");
  EXPECT_EQ(refusal_text(read_file(kFixtures / "png_rgb8"), 37 * 23), "");
  const std::string text = "GIF89a, or any other format";
  EXPECT_EQ(refusal_text({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 1), "");
  EXPECT_EQ(refusal_text({}, 1), "");
}

}  // namespace
}  // namespace pomona
