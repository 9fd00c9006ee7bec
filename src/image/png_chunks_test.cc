// The PNG chunk walker on hand-made chunk sequences: each edge case Pillow's ChunkStream handles
// in its own way (png_chunks.h).
#include "png_chunks.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pomona::image_internal {
namespace {

using Bytes = std::vector<uint8_t>;
using End = PngChunkWalker::End;
using namespace std::string_view_literals;

const Bytes kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

void append_u32(Bytes& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(value >> shift));
}

// A chunk with its length and a correct CRC.
Bytes chunk(std::string_view type, std::string_view data) {
  Bytes bytes;
  append_u32(bytes, static_cast<uint32_t>(data.size()));
  bytes.insert(bytes.end(), type.begin(), type.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  append_u32(bytes, static_cast<uint32_t>(crc32(0, bytes.data() + 4, 4 + data.size())));
  return bytes;
}

Bytes png(std::initializer_list<Bytes> chunks) {
  Bytes bytes = kSignature;
  for (const Bytes& c : chunks) bytes.insert(bytes.end(), c.begin(), c.end());
  return bytes;
}

struct Walk {
  std::vector<std::string> types;
  std::vector<PngChunk> chunks;
  End end = End::kNotYet;
};

// The chunks' spans point into bytes, which must outlive the result.
Walk walk(const Bytes& bytes) {
  Walk result;
  PngChunkWalker walker(bytes);
  for (PngChunk c; walker.next(c);) {
    result.types.emplace_back(c.type);
    result.chunks.push_back(c);
  }
  result.end = walker.end();
  return result;
}

std::string text(std::span<const uint8_t> data) { return std::string(data.begin(), data.end()); }

TEST(HasPngSignature, IsTheEightByteSignature) {
  EXPECT_TRUE(has_png_signature(kSignature));
  EXPECT_FALSE(has_png_signature(Bytes(kSignature.begin(), kSignature.end() - 1)));
  Bytes other = kSignature;
  other[7] = 0;
  EXPECT_FALSE(has_png_signature(other));
}

TEST(PngChunkWalker, GivesEachChunkUpToIend) {
  const Bytes bytes = png({chunk("IHDR", "0123456789abc"), chunk("tEXt", "k\0v"sv),
                           chunk("IEND", ""), chunk("eXIf", "after the end")});
  const Walk w = walk(bytes);
  EXPECT_EQ(w.types, (std::vector<std::string>{"IHDR", "tEXt"}));
  EXPECT_EQ(w.end, End::kIend);
  EXPECT_EQ(text(w.chunks[0].data), "0123456789abc");
  EXPECT_EQ(w.chunks[0].offset, 8u);
  EXPECT_EQ(w.chunks[1].offset, 8u + 12 + 13);
  EXPECT_EQ(w.chunks[1].next_offset(), 8u + 12 + 13 + 12 + 3);
  EXPECT_TRUE(w.chunks[0].complete() && w.chunks[0].crc_matches());
  EXPECT_TRUE(w.chunks[1].complete() && w.chunks[1].crc_matches());
}

TEST(PngChunkWalker, ZeroLengthChunkIsGivenWithItsCrc) {
  const Bytes bytes = png({chunk("sRGB", ""), chunk("IDAT", "x")});
  const Walk w = walk(bytes);
  ASSERT_EQ(w.types, (std::vector<std::string>{"sRGB", "IDAT"}));
  EXPECT_TRUE(w.chunks[0].data.empty());
  EXPECT_TRUE(w.chunks[0].complete() && w.chunks[0].crc_matches());
  EXPECT_EQ(w.end, End::kFileEnds);
}

TEST(PngChunkWalker, BadCrcIsSeenButDoesNotEndTheWalk) {
  Bytes bad = chunk("gAMA", "abcd");
  bad.back() ^= 1;
  const Bytes bytes = png({bad, chunk("IDAT", "x")});
  const Walk w = walk(bytes);
  ASSERT_EQ(w.types, (std::vector<std::string>{"gAMA", "IDAT"}));
  EXPECT_TRUE(w.chunks[0].complete());
  EXPECT_FALSE(w.chunks[0].crc_matches());
  EXPECT_TRUE(w.chunks[1].crc_matches());
}

TEST(PngChunkWalker, ChunkCutInsideItsDataIsGivenShortThenTheWalkEnds) {
  Bytes bytes = png({chunk("tEXt", "key\0value"sv)});
  bytes.resize(bytes.size() - 4 - 3);  // CRC and "lue" gone
  const Walk w = walk(bytes);
  ASSERT_EQ(w.types, (std::vector<std::string>{"tEXt"}));
  EXPECT_FALSE(w.chunks[0].complete());
  EXPECT_EQ(w.chunks[0].data.size(), 6u);
  EXPECT_TRUE(w.chunks[0].crc.empty());
  EXPECT_FALSE(w.chunks[0].crc_matches());
  EXPECT_EQ(w.end, End::kFileEnds);
}

// After the image data Pillow reads a last chunk whose CRC the file lacks (load_end does not check
// it); the old EXIF walker skipped such a chunk.
TEST(PngChunkWalker, ChunkCompleteWithoutItsCrcIsGivenComplete) {
  Bytes bytes = png({chunk("eXIf", "MM")});
  bytes.resize(bytes.size() - 2);
  const Walk w = walk(bytes);
  ASSERT_EQ(w.types, (std::vector<std::string>{"eXIf"}));
  EXPECT_TRUE(w.chunks[0].complete());
  EXPECT_EQ(w.chunks[0].crc.size(), 2u);
  EXPECT_FALSE(w.chunks[0].crc_matches());
  EXPECT_EQ(w.end, End::kFileEnds);
}

TEST(PngChunkWalker, LengthBeyondTheFileIsAChunkCutShort) {
  Bytes bytes = kSignature;
  append_u32(bytes, 0xFFFFFFFF);
  bytes.insert(bytes.end(), {'I', 'D', 'A', 'T', 1, 2, 3});
  const Walk w = walk(bytes);
  ASSERT_EQ(w.types, (std::vector<std::string>{"IDAT"}));
  EXPECT_EQ(w.chunks[0].length, 0xFFFFFFFFu);
  EXPECT_EQ(w.chunks[0].data.size(), 3u);
  EXPECT_FALSE(w.chunks[0].complete());
  EXPECT_EQ(w.end, End::kFileEnds);
}

TEST(PngChunkWalker, FewerThanEightBytesForTheNextChunkEndTheWalk) {
  Bytes bytes = png({chunk("IHDR", "")});
  bytes.insert(bytes.end(), {0, 0, 0, 0, 'I', 'D', 'A'});
  EXPECT_EQ(walk(bytes).types, (std::vector<std::string>{"IHDR"}));
  EXPECT_EQ(walk(bytes).end, End::kFileEnds);
  EXPECT_EQ(walk(kSignature).end, End::kFileEnds);
}

// Pillow's is_cid is the regular expression \w\w\w\w: digits and underscores are chunk ids too
// (the decoder took only letters and refused such files, which Pillow reads).
TEST(PngChunkWalker, ChunkIdOfDigitsAndUnderscoreIsReadLikePillow) {
  const Walk w = walk(png({chunk("ab1_", "x"), chunk("IDAT", "y")}));
  EXPECT_EQ(w.types, (std::vector<std::string>{"ab1_", "IDAT"}));
}

TEST(PngChunkWalker, ChunkIdOutsideWordCharactersEndsTheWalk) {
  for (const std::string_view id :
       {std::string_view("a b!"), std::string_view("\0\0ab", 4), std::string_view("ab-c")}) {
    const Walk w = walk(png({chunk("tEXt", "k\0v"sv), chunk(id, "x"), chunk("eXIf", "MM")}));
    EXPECT_EQ(w.types, (std::vector<std::string>{"tEXt"}));
    EXPECT_EQ(w.end, End::kBadChunkId);
  }
}

TEST(PngChunkWalker, StartsAtAnyChunkOffset) {
  const Bytes bytes = png({chunk("IHDR", "abc"), chunk("IDAT", "x"), chunk("tIME", "1234567")});
  PngChunkWalker walker(bytes, 8 + 15);
  PngChunk c;
  ASSERT_TRUE(walker.next(c));
  EXPECT_EQ(c.type, "IDAT");
  ASSERT_TRUE(walker.next(c));
  EXPECT_EQ(c.type, "tIME");
  EXPECT_FALSE(walker.next(c));
  EXPECT_FALSE(walker.next(c));
  EXPECT_EQ(walker.end(), End::kFileEnds);
  PngChunkWalker past_the_end(bytes, bytes.size() + 100);
  EXPECT_FALSE(past_the_end.next(c));
}

}  // namespace
}  // namespace pomona::image_internal
