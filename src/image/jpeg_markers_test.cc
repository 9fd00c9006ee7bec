// The JPEG marker walker on hand-made marker sequences: each edge case Pillow's
// JpegImageFile._open handles in its own way (jpeg_markers.h).
#include "jpeg_markers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace pomona::image_internal {
namespace {

using Bytes = std::vector<uint8_t>;
using End = JpegMarkerWalker::End;

// SOI followed by `rest`.
Bytes jpeg(std::initializer_list<uint8_t> rest) {
  Bytes bytes = {0xFF, 0xD8};
  bytes.insert(bytes.end(), rest);
  return bytes;
}

struct Walk {
  std::vector<std::pair<uint8_t, Bytes>> segments;  // marker, payload
  End end = End::kNotYet;
};

Walk walk(const Bytes& bytes) {
  Walk result;
  JpegMarkerWalker walker(bytes);
  for (JpegSegment segment; walker.next(segment);) {
    result.segments.emplace_back(segment.marker,
                                 Bytes(segment.payload.begin(), segment.payload.end()));
  }
  result.end = walker.end();
  return result;
}

using Segments = std::vector<std::pair<uint8_t, Bytes>>;

TEST(HasJpegSoi, IsFfD8FfAsPillowAccepts) {
  EXPECT_TRUE(has_jpeg_soi(Bytes{0xFF, 0xD8, 0xFF}));
  EXPECT_FALSE(has_jpeg_soi(Bytes{0xFF, 0xD8}));
  EXPECT_FALSE(has_jpeg_soi(Bytes{0xFF, 0xD8, 0x00, 0xFF}));
  EXPECT_FALSE(has_jpeg_soi(Bytes{}));
}

TEST(JpegMarkerWalker, GivesSegmentsUpToAndIncludingTheStartOfScan) {
  const Walk w = walk(jpeg({0xFF, 0xE1, 0x00, 0x04, 'a', 'b',  // APP1 "ab"
                            0xFF, 0xDA, 0x00, 0x03, 0x07,      // SOS
                            0xFF, 0xE2, 0x00, 0x02}));         // after the scan: not read
  EXPECT_EQ(w.segments, (Segments{{0xE1, {'a', 'b'}}, {0xDA, {0x07}}}));
  EXPECT_EQ(w.end, End::kStartOfScan);
}

TEST(JpegMarkerWalker, FillBytesBeforeAMarkerAreSkipped) {
  const Walk w =
      walk(jpeg({0xFF, 0xFF, 0xFF, 0xE1, 0x00, 0x03, 'x', 0xFF, 0xFF, 0xDA, 0x00, 0x02}));
  EXPECT_EQ(w.segments, (Segments{{0xE1, {'x'}}, {0xDA, {}}}));
  EXPECT_EQ(w.end, End::kStartOfScan);
}

TEST(JpegMarkerWalker, JunkBetweenSegmentsAndStuffedZerosAreSkipped) {
  const Walk w =
      walk(jpeg({0xFF, 0xE0, 0x00, 0x02, 0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xDA, 0x00, 0x02}));
  EXPECT_EQ(w.segments, (Segments{{0xE0, {}}, {0xDA, {}}}));
}

// Pillow reads no payload for a length of 0 or 1 (_safe_read of a negative size) and goes on
// right after the length field; the old EXIF walker stopped there and missed later EXIF.
TEST(JpegMarkerWalker, ZeroLengthSegmentHasNoPayloadAndTheWalkGoesOn) {
  for (const uint8_t length : {0, 1, 2}) {
    const Walk w =
        walk(jpeg({0xFF, 0xE2, 0x00, length, 0xFF, 0xE1, 0x00, 0x03, 'e', 0xFF, 0xDA, 0x00, 0x02}));
    EXPECT_EQ(w.segments, (Segments{{0xE2, {}}, {0xE1, {'e'}}, {0xDA, {}}})) << int{length};
    EXPECT_EQ(w.end, End::kStartOfScan);
  }
}

// Pillow's MARKER table gives RSTn, SOI, EOI, JPG and JPGn no handler: no length is read, so the
// bytes after them are the next marker (the old EXIF walker read a length after JPG and JPGn).
TEST(JpegMarkerWalker, MarkersWithoutLengthFieldAreSkipped) {
  for (const uint8_t marker : {0xD0, 0xD7, 0xD8, 0xD9, 0xC8, 0xF0, 0xFD}) {
    const Walk w = walk(jpeg({0xFF, marker, 0xFF, 0xE1, 0x00, 0x03, 'e', 0xFF, 0xDA, 0x00, 0x02}));
    EXPECT_EQ(w.segments, (Segments{{0xE1, {'e'}}, {0xDA, {}}})) << int{marker};
  }
}

TEST(JpegMarkerWalker, FfBeforeAByteThatStartsNoMarkerEndsTheWalk) {
  const Walk w = walk(jpeg({0xFF, 0xE1, 0x00, 0x03, 'e', 0xFF, 0x42, 0xFF, 0xDA, 0x00, 0x02}));
  EXPECT_EQ(w.segments, (Segments{{0xE1, {'e'}}}));
  EXPECT_EQ(w.end, End::kNoMarker);
}

TEST(JpegMarkerWalker, SegmentCutByTheEndOfTheFileEndsTheWalk) {
  EXPECT_EQ(walk(jpeg({0xFF, 0xE1, 0x00, 0x05, 'a', 'b'})).end, End::kTruncatedSegment);
  EXPECT_EQ(walk(jpeg({0xFF, 0xE1, 0x00})).end, End::kTruncatedSegment);  // inside the length
  EXPECT_EQ(walk(jpeg({0xFF, 0xDA, 0x00, 0x04, 0x00})).end, End::kTruncatedSegment);
  EXPECT_TRUE(walk(jpeg({0xFF, 0xE1, 0x00, 0x05, 'a', 'b'})).segments.empty());
}

TEST(JpegMarkerWalker, FileEndingBetweenSegmentsEndsTheWalk) {
  const Walk w = walk(jpeg({0xFF, 0xE1, 0x00, 0x02}));
  EXPECT_EQ(w.segments, (Segments{{0xE1, {}}}));
  EXPECT_EQ(w.end, End::kFileEnds);
  EXPECT_EQ(walk(jpeg({0xFF})).end, End::kFileEnds);
  EXPECT_EQ(walk(jpeg({0xFF, 0xE1, 0x00, 0x02, 0xFF})).end, End::kFileEnds);
}

TEST(JpegMarkerWalker, LargestLengthIsReadWithoutOverflow) {
  Bytes bytes = jpeg({0xFF, 0xFE, 0xFF, 0xFF});
  bytes.resize(bytes.size() + 0xFFFD, 'c');
  const Walk w = walk(bytes);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].second.size(), 0xFFFDu);
  EXPECT_EQ(w.end, End::kFileEnds);
}

TEST(JpegMarkerWalker, NextAfterTheEndStaysEnded) {
  const Bytes bytes = jpeg({0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xE1, 0x00, 0x02});
  JpegMarkerWalker walker(bytes);
  JpegSegment segment;
  EXPECT_TRUE(walker.next(segment));
  EXPECT_FALSE(walker.next(segment));
  EXPECT_FALSE(walker.next(segment));
  EXPECT_EQ(walker.end(), End::kStartOfScan);
}

}  // namespace
}  // namespace pomona::image_internal
