// The chunks of a PNG file, read as Pillow 13's PngImagePlugin.ChunkStream reads them. The one
// PNG chunk walker of pomona_image: the decoder (png_decode.cc) and the EXIF reader (exif.cc)
// both read the file through it, so they agree on every damaged file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pomona::image_internal {

// The 8-byte PNG signature.
bool has_png_signature(std::span<const uint8_t> bytes);

struct PngChunk {
  size_t offset = 0;  // of its length field in the file
  uint32_t length = 0;
  std::string_view type;  // 4 ASCII letters, digits or underscores
  // The data, shorter than length when the file ends inside the chunk.
  std::span<const uint8_t> data;
  // The stored CRC: 4 bytes, fewer when the file ends inside it, none unless data is complete.
  std::span<const uint8_t> crc;

  bool complete() const { return data.size() == length; }
  // Whether all 4 CRC bytes are there and match the CRC-32 of type and data (ChunkStream.crc).
  bool crc_matches() const;
  // Where the next chunk starts (may lie past the end of the file).
  size_t next_offset() const { return offset + 12 + size_t{length}; }
};

// Walks the chunks from `offset` on (8: the first after the signature) as Pillow reads them: the
// walk ends at the end of the file (fewer than 8 bytes for a chunk's length and type), at a chunk
// type that is not four ASCII letters, or at IEND. A chunk the file ends inside is still given,
// with its data cut short (complete() false); the walk then ends.
class PngChunkWalker {
 public:
  enum class End {
    kNotYet,      // next() may give more chunks
    kFileEnds,    // no room for another chunk's length and type
    kBadChunkId,  // Pillow's "broken PNG file (chunk ...)"
    kIend,        // the IEND chunk (not given)
  };

  explicit PngChunkWalker(std::span<const uint8_t> bytes, size_t offset = 8)
      : bytes_(bytes), offset_(offset) {}

  // The next chunk; false once the walk has ended (end() says why). Never reads outside bytes.
  bool next(PngChunk& chunk);
  End end() const { return end_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t offset_;  // of the next chunk
  End end_ = End::kNotYet;

  bool stop(End end) {
    end_ = end;
    return false;
  }
};

}  // namespace pomona::image_internal
