// The JPEG marker segments before the first scan, walked as Pillow 13's JpegImageFile._open walks
// them. The one JPEG marker parser of pomona_image: the decoder's checks (jpeg_decode.cc) and the
// EXIF reader (exif.cc) both read the file through it, so they agree on every damaged file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pomona::image_internal {

// Whether bytes start with FF D8 FF (start of image, then the FF of the next marker): what
// Pillow's JpegImagePlugin._accept takes for a JPEG.
bool has_jpeg_soi(std::span<const uint8_t> bytes);

// One marker segment with a length field.
struct JpegSegment {
  uint8_t marker = 0;  // the byte after FF: 0xC0..0xFE
  // The bytes after the 2-byte length field: length - 2 of them, none for a length below 2
  // (Pillow reads nothing then and goes on right after the length field).
  std::span<const uint8_t> payload;
};

// Walks the segments after the SOI marker up to and including the start of scan (0xDA), as
// Pillow does: bytes other than FF between segments are skipped, FF FF is a fill byte, FF 00 a
// stuffed zero; RSTn, SOI, EOI, JPG (C8) and JPGn (F0..FD) have no length field and are skipped;
// FF followed by 01..BF ends the walk ("no marker found").
class JpegMarkerWalker {
 public:
  enum class End {
    kNotYet,            // next() may give more segments
    kStartOfScan,       // the last segment given was the start of scan
    kFileEnds,          // the bytes end between segments, before any start of scan
    kNoMarker,          // FF followed by a byte that starts no marker
    kTruncatedSegment,  // the bytes end inside a length field or a payload
  };

  // Requires has_jpeg_soi(bytes). Never reads outside bytes.
  explicit JpegMarkerWalker(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // The next segment with a length field; false once the walk has ended (end() says why).
  bool next(JpegSegment& segment);
  End end() const { return end_; }

 private:
  bool stop(End end) {
    end_ = end;
    return false;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 3;          // past FF D8 FF
  bool pending_ff_ = true;  // the FF at pos_ - 1 starts a marker
  End end_ = End::kNotYet;
};

}  // namespace pomona::image_internal
