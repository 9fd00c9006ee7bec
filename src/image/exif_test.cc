// --exif-transpose against Pillow's ImageOps.exif_transpose on the files that
// tools/make_exif_fixtures.py writes (fixture exif_fixtures): each orientation in JPEG APP1 and
// PNG eXIf in both byte orders, the other places Pillow reads (PNG text chunks, XMP), other
// value types, and damaged EXIF, which never fails a row.
#include "exif.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "pomona/image.h"

namespace pomona::image_internal {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = POMONA_EXIF_FIXTURES_DIR;
constexpr int kResizedWidth = 8, kResizedHeight = 6;  // as in the generator

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Case {
  std::string file;
  int orientation = 1;
  int width = 0, height = 0;
  std::string stem() const { return file.substr(0, file.rfind('.')); }
};

std::vector<Case> read_manifest() {
  std::ifstream in(kFixtures / "manifest.tsv");
  EXPECT_TRUE(in) << "missing " << kFixtures / "manifest.tsv";
  std::vector<Case> cases;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Case c;
    fields >> c.file >> c.orientation >> c.width >> c.height;
    cases.push_back(c);
  }
  EXPECT_GT(cases.size(), 50u);
  return cases;
}

TEST(ExifOrientation, ReadsWhatPillowReadsForEveryFixture) {
  for (const Case& c : read_manifest()) {
    EXPECT_EQ(exif_orientation(read_file(kFixtures / c.file)), c.orientation) << c.file;
  }
}

TEST(ExifOrientation, TransposesPixelsAsPillowDoes) {
  for (const Case& c : read_manifest()) {
    Result<Rgb8Image> decoded = decode_image(read_file(kFixtures / c.file));
    ASSERT_TRUE(decoded.ok()) << c.file << ": " << decoded.error();
    const Rgb8Image transposed = transpose_for_orientation(decoded.value(), c.orientation);
    EXPECT_EQ(transposed.width, c.width) << c.file;
    EXPECT_EQ(transposed.height, c.height) << c.file;
    EXPECT_EQ(transposed.pixels, read_file(kFixtures / (c.stem() + ".rgb"))) << c.file;
  }
}

TEST(ExifOrientation, DecodeResizedMatchesPillowExifTransposeThenResize) {
  for (const Case& c : read_manifest()) {
    Result<Rgb8Image> resized = decode_exif_transposed_resized_like_pillow(
        read_file(kFixtures / c.file), kResizedWidth, kResizedHeight);
    ASSERT_TRUE(resized.ok()) << c.file << ": " << resized.error();
    EXPECT_EQ(resized.value().pixels, read_file(kFixtures / (c.stem() + ".resized.rgb"))) << c.file;
  }
}

TEST(ExifOrientation, IsOneForNonImagesAndEveryTruncationOfAnExifJpeg) {
  EXPECT_EQ(exif_orientation({}), 1);
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(exif_orientation(text), 1);
  // Cut anywhere before the end of its APP1 segment, the orientation cannot be read.
  const std::vector<uint8_t> jpeg = read_file(kFixtures / "jpeg_le_6.jpg");
  ASSERT_EQ(exif_orientation(jpeg), 6);
  for (size_t size = 0; size < 40; ++size) {
    EXPECT_EQ(exif_orientation(std::span(jpeg).first(size)), 1) << size;
  }
}

// Cases where the EXIF reader once walked the file unlike the decoders and Pillow: it now reads
// through the decoders' walkers (jpeg_markers.h, png_chunks.h). The fixtures are Pillow-checked.
TEST(ExifOrientation, JpegExifAfterZeroLengthSegmentIsReadLikePillow) {
  EXPECT_EQ(exif_orientation(read_file(kFixtures / "jpeg_exif_after_zero_length_segment.jpg")), 6);
}

TEST(ExifOrientation, JpegExifAfterFillBytesIsRead) {
  EXPECT_EQ(exif_orientation(read_file(kFixtures / "jpeg_exif_after_fill_bytes.jpg")), 6);
}

TEST(ExifOrientation, PngExifChunkWithoutCrcAtEndOfFileIsReadLikePillow) {
  EXPECT_EQ(exif_orientation(read_file(kFixtures / "png_exif_without_crc_at_end_of_file.png")), 6);
}

TEST(ExifOrientation, PngExifAfterChunkIdWithDigitsIsRead) {
  EXPECT_EQ(exif_orientation(read_file(kFixtures / "png_exif_after_digit_chunk_id.png")), 6);
}

TEST(ExifOrientation, PngExifAfterBadChunkIdIsNotReadLikePillow) {
  EXPECT_EQ(exif_orientation(read_file(kFixtures / "png_exif_after_bad_chunk_id.png")), 1);
}

TEST(ExifOrientation, DecodeErrorsStayTheDecodersErrors) {
  std::vector<uint8_t> jpeg = read_file(kFixtures / "jpeg_le_6.jpg");
  jpeg.resize(jpeg.size() / 2 + 40);  // the EXIF survives, the scan does not
  ASSERT_EQ(exif_orientation(jpeg), 6);
  const Result<Rgb8Image> plain = decode_image(jpeg);
  const Result<Rgb8Image> transposed =
      decode_exif_transposed_resized_like_pillow(jpeg, kResizedWidth, kResizedHeight);
  ASSERT_FALSE(plain.ok());
  ASSERT_FALSE(transposed.ok());
  EXPECT_EQ(transposed.error(), plain.error());
}

}  // namespace
}  // namespace pomona::image_internal
