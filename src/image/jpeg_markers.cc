#include "jpeg_markers.h"

namespace pomona::image_internal {
namespace {

// Markers without a length field (Pillow's MARKER table gives them no handler).
bool has_no_length(uint8_t marker) {
  return (marker >= 0xD0 && marker <= 0xD9) || marker == 0xC8 || (marker >= 0xF0 && marker <= 0xFD);
}

}  // namespace

bool has_jpeg_soi(std::span<const uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

bool JpegMarkerWalker::next(JpegSegment& segment) {
  if (end_ != End::kNotYet) return false;
  while (true) {
    if (!pending_ff_) {
      if (pos_ >= bytes_.size()) return stop(End::kFileEnds);
      if (bytes_[pos_++] != 0xFF) continue;  // junk between segments
    }
    pending_ff_ = false;
    if (pos_ >= bytes_.size()) return stop(End::kFileEnds);
    const uint8_t marker = bytes_[pos_++];
    if (marker == 0xFF) {  // fill byte: this FF may start the marker
      pending_ff_ = true;
      continue;
    }
    if (marker == 0x00 || has_no_length(marker)) continue;
    if (marker < 0xC0) return stop(End::kNoMarker);
    if (bytes_.size() - pos_ < 2) return stop(End::kTruncatedSegment);
    const size_t length = size_t{bytes_[pos_]} << 8 | bytes_[pos_ + 1];
    pos_ += 2;
    const size_t payload_size = length > 2 ? length - 2 : 0;
    if (payload_size > bytes_.size() - pos_) return stop(End::kTruncatedSegment);
    segment = {marker, bytes_.subspan(pos_, payload_size)};
    pos_ += payload_size;
    if (marker == 0xDA) end_ = End::kStartOfScan;
    return true;
  }
}

}  // namespace pomona::image_internal
