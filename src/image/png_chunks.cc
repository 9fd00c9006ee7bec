#include "png_chunks.h"

#include <zlib.h>

#include <algorithm>
#include <array>

namespace pomona::image_internal {
namespace {

constexpr std::array<uint8_t, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t read_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Pillow's is_cid, the regular expression \w\w\w\w on bytes: four ASCII letters, digits or
// underscores.
bool is_chunk_id(std::string_view type) {
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

bool has_png_signature(std::span<const uint8_t> bytes) {
  return bytes.size() >= kSignature.size() &&
         std::equal(kSignature.begin(), kSignature.end(), bytes.begin());
}

bool PngChunk::crc_matches() const {
  if (crc.size() < 4) return false;
  // The type and the data lie back to back in the file.
  const auto* type_bytes = reinterpret_cast<const Bytef*>(type.data());
  return crc32(0, type_bytes, static_cast<uInt>(4 + data.size())) == read_u32(crc.data());
}

bool PngChunkWalker::next(PngChunk& chunk) {
  if (end_ != End::kNotYet) return false;
  if (offset_ > bytes_.size() || bytes_.size() - offset_ < 8) return stop(End::kFileEnds);
  chunk.offset = offset_;
  chunk.length = read_u32(&bytes_[offset_]);
  chunk.type = std::string_view(reinterpret_cast<const char*>(&bytes_[offset_ + 4]), 4);
  if (!is_chunk_id(chunk.type)) return stop(End::kBadChunkId);
  if (chunk.type == "IEND") return stop(End::kIend);
  const size_t data_offset = offset_ + 8;
  const size_t available = bytes_.size() - data_offset;
  chunk.data = bytes_.subspan(data_offset, std::min<size_t>(chunk.length, available));
  chunk.crc = chunk.complete() ? bytes_.subspan(data_offset + chunk.length,
                                                std::min<size_t>(4, available - chunk.length))
                               : std::span<const uint8_t>();
  offset_ = chunk.next_offset();
  return true;
}

}  // namespace pomona::image_internal
