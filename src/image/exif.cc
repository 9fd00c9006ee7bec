// EXIF orientation, following Pillow 13: JpegImagePlugin.APP, PngImagePlugin's text and eXIf
// chunks, Image.getexif (EXIF, then XMP) and TiffImagePlugin.ImageFileDirectory_v2.load/_setitem.
#include "exif.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode_common.h"
#include "jpeg_markers.h"
#include "png_chunks.h"

namespace pomona::image_internal {
namespace {

using Bytes = std::span<const uint8_t>;

bool starts_with(Bytes b, std::string_view prefix) {
  return b.size() >= prefix.size() && std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

// The metadata Pillow's getexif() consults, as its plugins leave it in Image.info.
struct Metadata {
  std::optional<std::vector<uint8_t>> exif;  // info["exif"]
  std::optional<std::string> raw_profile;    // info["Raw profile type exif"]
  std::string xmp_text;                      // info["XML:com.adobe.xmp"]
  std::string xmp_bytes;                     // info["xmp"]
};

// The APP1 segments of JpegImageFile._open's marker loop, up to the start of scan.
Metadata jpeg_metadata(Bytes b) {
  Metadata m;
  JpegMarkerWalker walker(b);
  for (JpegSegment segment; walker.next(segment);) {
    if (segment.marker != 0xE1) continue;
    const Bytes payload = segment.payload;
    if (starts_with(payload, std::string_view("Exif\0\0", 6))) {
      if (!m.exif) {
        m.exif.emplace(payload.begin(), payload.end());
      } else {
        m.exif->insert(m.exif->end(), payload.begin() + 6, payload.end());
      }
    } else if (starts_with(payload, std::string_view("http://ns.adobe.com/xap/1.0/\0", 29))) {
      m.xmp_bytes.assign(payload.begin() + 29, payload.end());
    }
  }
  return m;
}

// Pillow's _safe_zlib_decompress: at most MAX_TEXT_CHUNK (1 MiB) out, else nothing.
std::optional<std::string> inflate_text(Bytes compressed) {
  constexpr size_t kMaxTextChunk = 1 << 20;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return std::nullopt;
  std::string out(kMaxTextChunk, '\0');
  z.next_in = const_cast<Bytef*>(compressed.data());
  z.avail_in = static_cast<uInt>(compressed.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&z, Z_FINISH);
  const bool complete = status == Z_STREAM_END || (status == Z_BUF_ERROR && z.avail_out > 0);
  out.resize(z.total_out);
  inflateEnd(&z);
  if (!complete) return std::nullopt;
  return out;
}

enum class TextChunk { kPlain, kCompressed, kInternational };

// A PNG text chunk's value under the keywords getexif() reads. Only tEXt leaves "exif" as bytes
// (Pillow fails on the text that zTXt and iTXt leave; here they are not EXIF).
void read_text(Metadata& m, TextChunk chunk, const std::string& key, std::string value) {
  if (key == "exif" && chunk == TextChunk::kPlain) m.exif.emplace(value.begin(), value.end());
  if (key == "Raw profile type exif") m.raw_profile = value;
  if (key == "XML:com.adobe.xmp") {
    if (chunk == TextChunk::kInternational) m.xmp_bytes = value;
    m.xmp_text = std::move(value);
  }
}

// PngStream's chunks up to IEND (exif_transpose loads the image, so those after IDAT count), as
// far as Pillow reads them: a chunk the file ends inside fails the image, so nothing after counts.
Metadata png_metadata(Bytes b) {
  Metadata m;
  PngChunkWalker chunks(b);
  for (PngChunk chunk; chunks.next(chunk) && chunk.complete();) {
    const std::string_view type = chunk.type;
    const Bytes data = chunk.data;
    if (type == "eXIf") {
      m.exif.emplace(data.begin(), data.end());
      continue;
    }
    const bool text = type == "tEXt", ztext = type == "zTXt", itext = type == "iTXt";
    if (!text && !ztext && !itext) continue;
    const auto nul = std::find(data.begin(), data.end(), 0);
    const std::string key(data.begin(), nul);
    Bytes rest = nul == data.end() ? Bytes() : data.subspan(nul - data.begin() + 1);
    if (key.empty()) continue;
    if (text) {
      read_text(m, TextChunk::kPlain, key, std::string(rest.begin(), rest.end()));
    } else if (ztext) {
      if (!rest.empty() && rest[0] != 0) continue;  // Pillow refuses the file
      std::optional<std::string> value =
          rest.empty() ? std::string() : inflate_text(rest.subspan(1));
      read_text(m, TextChunk::kCompressed, key, value.value_or(""));
    } else {
      // compression flag, method, language NUL, translated keyword NUL, text
      if (rest.size() < 2) continue;
      const uint8_t compressed = rest[0], method = rest[1];
      rest = rest.subspan(2);
      auto field_end = std::find(rest.begin(), rest.end(), 0);
      if (field_end == rest.end()) continue;
      field_end = std::find(field_end + 1, rest.end(), 0);
      if (field_end == rest.end()) continue;
      const Bytes value = rest.subspan(field_end - rest.begin() + 1);
      if (compressed == 0) {
        read_text(m, TextChunk::kInternational, key, std::string(value.begin(), value.end()));
      } else if (method == 0) {
        if (std::optional<std::string> inflated = inflate_text(value)) {
          read_text(m, TextChunk::kInternational, key, *inflated);
        }
      }
    }
  }
  return m;
}

// bytes.fromhex over the lines after the third of ImageMagick's "Raw profile" text.
std::optional<std::vector<uint8_t>> raw_profile_bytes(const std::string& text) {
  size_t at = 0;
  for (int line = 0; line < 3; ++line) {
    at = text.find('\n', at);
    if (at == std::string::npos) return std::vector<uint8_t>();
    ++at;
  }
  std::vector<uint8_t> out;
  int high = -1;
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (c == '\n') continue;
    if (high < 0 && std::strchr(" \t\r\v\f", c) != nullptr) continue;
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;  // Pillow raises; read as no EXIF
    if (high < 0) {
      high = digit;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | digit));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

// The orientation tag of IFD0, when Pillow finds one: `present` decides whether XMP is read.
struct TiffOrientation {
  bool present = false;
  int value = 1;  // 2..8 when Pillow's value compares equal to that integer, else 1
};

// Exif.load: strip "Exif\0\0" (once or twice), check the TIFF header, read IFD0's entries until
// they run out; an entry whose data lies outside the TIFF block ends the directory.
std::optional<TiffOrientation> tiff_orientation(Bytes data) {
  for (int i = 0; i < 2 && starts_with(data, std::string_view("Exif\0\0", 6)); ++i) {
    data = data.subspan(6);
  }
  if (data.empty()) return TiffOrientation();  // Pillow: no EXIF, so XMP is read
  if (data.size() < 8) return std::nullopt;    // Pillow raises: not a TIFF header
  const bool little = starts_with(data, "II");
  if (!little && !starts_with(data, "MM")) return std::nullopt;
  if (!((data[2] == 0x2a && data[3] == 0) || (data[2] == 0 && data[3] == 0x2a))) {
    return std::nullopt;
  }
  auto read = [&](size_t at, int size) -> uint64_t {
    uint64_t v = 0;
    for (int i = 0; i < size; ++i) v |= uint64_t{data[at + i]} << 8 * (little ? i : size - 1 - i);
    return v;
  };
  const uint64_t ifd = read(4, 4);
  TiffOrientation found;
  if (ifd > data.size() || data.size() - ifd < 2) return found;
  const size_t count = read(ifd, 2);
  // ImageFileDirectory_v2._load_dispatch: bytes per value of each type Pillow reads.
  constexpr int kUnitSize[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8};
  uint64_t total_size = 0;
  for (size_t i = 0, entry = ifd + 2; i < count; ++i, entry += 12) {
    if (entry + 12 > data.size()) break;
    const uint64_t tag = read(entry, 2), type = read(entry + 2, 2), values = read(entry + 4, 4);
    if (type >= std::size(kUnitSize) || kUnitSize[type] == 0) continue;  // unsupported type
    const uint64_t size = values * kUnitSize[type];
    uint64_t at = entry + 8;
    if (size > 4) {
      at = read(entry + 8, 4);
      total_size += size;
      if (total_size > data.size()) continue;                  // "Tag data larger than file"
      if (at > data.size() || data.size() - at < size) break;  // truncated read ends the IFD
    }
    if (size == 0 || tag != 0x0112) continue;
    found.present = true;  // the first Orientation entry; later ones are ignored
    // _setitem keeps the first value of a tag Pillow expects once; BYTE stays bytes, ASCII and
    // UNDEFINED text, none of which equals a number.
    double value = NAN;
    switch (type) {
      case 3:
        value = read(at, 2);
        break;
      case 4:
      case 13:
        value = read(at, 4);
        break;
      case 6:
        value = static_cast<int8_t>(read(at, 1));
        break;
      case 8:
        value = static_cast<int16_t>(read(at, 2));
        break;
      case 9:
        value = static_cast<int32_t>(read(at, 4));
        break;
      case 16:
        value = static_cast<double>(read(at, 8));
        break;
      case 5:
      case 10: {
        const uint32_t num = read(at, 4), den = read(at + 4, 4);
        const double n = type == 5 ? num : static_cast<int32_t>(num);
        const double d = type == 5 ? den : static_cast<int32_t>(den);
        if (d != 0) value = n / d;
        break;
      }
      case 11: {
        const uint32_t raw = read(at, 4);
        float f;
        std::memcpy(&f, &raw, 4);
        value = f;
        break;
      }
      case 12: {
        const uint64_t raw = read(at, 8);
        std::memcpy(&value, &raw, 8);
        break;
      }
      default:
        break;
    }
    if (value >= 2 && value <= 8 && value == std::floor(value))
      found.value = static_cast<int>(value);
    return found;
  }
  return found;
}

// Image.getexif's XMP fallback: re.search(r'tiff:Orientation(="|>)([0-9])', xmp).
int xmp_orientation(const std::string& xmp) {
  constexpr std::string_view kTag = "tiff:Orientation";
  for (size_t at = xmp.find(kTag); at != std::string::npos; at = xmp.find(kTag, at + 1)) {
    size_t digit = at + kTag.size();
    if (xmp.compare(digit, 2, "=\"") == 0) {
      digit += 2;
    } else if (xmp.compare(digit, 1, ">") == 0) {
      digit += 1;
    } else {
      continue;
    }
    if (digit < xmp.size() && xmp[digit] >= '0' && xmp[digit] <= '9') return xmp[digit] - '0';
  }
  return 1;
}

}  // namespace

int exif_orientation(std::span<const uint8_t> bytes) {
  Metadata m;
  switch (sniff_format(bytes)) {
    case ImageFormat::kJpeg:
      m = jpeg_metadata(bytes);
      break;
    case ImageFormat::kPng:
      m = png_metadata(bytes);
      break;
    case ImageFormat::kOther:
      return 1;
  }
  std::optional<std::vector<uint8_t>> exif = std::move(m.exif);
  if (!exif && m.raw_profile) exif = raw_profile_bytes(*m.raw_profile);
  if (exif) {
    const std::optional<TiffOrientation> tiff = tiff_orientation(*exif);
    if (!tiff) return 1;  // Pillow raises on a block that is not TIFF: no transpose here
    if (tiff->present) return tiff->value;
  }
  const int xmp = xmp_orientation(!m.xmp_text.empty() ? m.xmp_text : m.xmp_bytes);
  return xmp >= 2 && xmp <= 8 ? xmp : 1;
}

Rgb8Image transpose_for_orientation(Rgb8Image image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const int w = image.width, h = image.height;
  // Each method as the source pixel of output (x, y): source x = sx[0] + sx[1]*x + sx[2]*y,
  // source y likewise; methods 5..8 swap width and height.
  struct Map {
    int sx[3], sy[3];
  };
  const Map maps[] = {
      {{w - 1, -1, 0}, {0, 0, 1}},       // 2 FLIP_LEFT_RIGHT
      {{w - 1, -1, 0}, {h - 1, 0, -1}},  // 3 ROTATE_180
      {{0, 1, 0}, {h - 1, 0, -1}},       // 4 FLIP_TOP_BOTTOM
      {{0, 0, 1}, {0, 1, 0}},            // 5 TRANSPOSE
      {{0, 0, 1}, {h - 1, -1, 0}},       // 6 ROTATE_270
      {{w - 1, 0, -1}, {h - 1, -1, 0}},  // 7 TRANSVERSE
      {{w - 1, 0, -1}, {0, 1, 0}},       // 8 ROTATE_90
  };
  const Map& map = maps[orientation - 2];
  const bool swap = orientation >= 5;
  Rgb8Image out;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.pixels.resize(image.pixels.size());
  uint8_t* to = out.pixels.data();
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x, to += 3) {
      const int from_x = map.sx[0] + map.sx[1] * x + map.sx[2] * y;
      const int from_y = map.sy[0] + map.sy[1] * x + map.sy[2] * y;
      std::memcpy(to, &image.pixels[(static_cast<size_t>(from_y) * w + from_x) * 3], 3);
    }
  }
  return out;
}

}  // namespace pomona::image_internal

namespace pomona {

Result<Rgb8Image> decode_exif_transposed_resized_like_pillow(std::span<const uint8_t> bytes,
                                                             int width, int height,
                                                             int jpeg_draft_size,
                                                             int64_t max_pixels) {
  const int orientation = image_internal::exif_orientation(bytes);
  if (orientation == 1)
    return decode_resized_like_pillow(bytes, width, height, jpeg_draft_size, max_pixels);
  // Transposing needs the whole image, so the streaming decode+resize does not apply.
  Result<Rgb8Image> decoded = jpeg_draft_size > 0
                                  ? decode_image_draft(bytes, jpeg_draft_size, max_pixels)
                                  : decode_image(bytes, max_pixels);
  if (!decoded.ok()) return decoded;
  return resize_like_pillow(
      image_internal::transpose_for_orientation(std::move(decoded.value()), orientation), width,
      height);
}

}  // namespace pomona
