#include "jpeg_decode.h"

#include <jpeglib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode_common.h"
#include "jpeg_markers.h"

namespace pomona::image_internal {
namespace {

uint32_t read_u16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }

// Pillow parses the markers up to the first scan in Python before libjpeg sees the data, and
// refuses some files libjpeg would decode. The segments as Pillow walks them (jpeg_markers.h), with
// the checks of its segment handlers (JpegImagePlugin's SOF, DQT, APP), so that the same files are
// refused. Fails with the reason Pillow gives, ok when Pillow would go on.
Status check_markers_like_pillow(std::span<const uint8_t> bytes) {
  bool have_frame = false;
  JpegMarkerWalker walker(bytes);
  for (JpegSegment segment; walker.next(segment);) {
    const uint8_t marker = segment.marker;
    const std::span<const uint8_t> payload = segment.payload;
    const auto starts_with = [&](std::string_view prefix) {
      return payload.size() >= prefix.size() &&
             std::equal(prefix.begin(), prefix.end(), payload.begin());
    };
    const bool is_frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_frame) {
      if (payload.size() < 6) return Status::failure("frame header too short");
      if (payload[0] != 8)
        return Status::failure("cannot handle " + std::to_string(payload[0]) + "-bit layers");
      if (payload[5] != 1 && payload[5] != 3 && payload[5] != 4) {
        return Status::failure("cannot handle " + std::to_string(payload[5]) + "-layer images");
      }
      if (read_u16(&payload[1]) == 0 || read_u16(&payload[3]) == 0)
        return Status::failure("image has no pixels");
      have_frame = true;
    } else if (marker == 0xDB) {
      for (size_t table = 0; table < payload.size();) {
        const size_t table_size = 1 + (payload[table] >> 4 == 0 ? 64 : 128);
        if (payload.size() - table < table_size)
          return Status::failure("bad quantization table marker");
        table += table_size;
      }
    } else if ((marker == 0xE0 && starts_with("JFIF")) ||
               (marker == 0xEE && starts_with("Adobe"))) {
      if (payload.size() < 7) return Status::failure("APP marker too short");
    } else if (marker == 0xDA) {
      return have_frame ? Status() : Status::failure("scan before frame header");
    }
  }
  switch (walker.end()) {
    case JpegMarkerWalker::End::kNoMarker:
      return Status::failure("no marker found");
    case JpegMarkerWalker::End::kTruncatedSegment:
      return Status::failure("file ends inside a marker");
    default:
      return Status::failure("no image data (file ends before the first scan)");
  }
}

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

[[noreturn]] void jump_to_error(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1);
}

// Warnings (corrupt data that libjpeg recovers from) are not errors for Pillow either.
void ignore_message(j_common_ptr) {}

// A suspending source over the whole file, like Pillow's: when libjpeg wants bytes past the end,
// the read suspends instead of inventing an EOI marker, and the caller reports truncation.
void noop_source(j_decompress_ptr) {}
boolean suspend_at_end(j_decompress_ptr) { return FALSE; }
void skip_input(j_decompress_ptr cinfo, long count) {
  jpeg_source_mgr* src = cinfo->src;
  const size_t skipped = count > 0 ? static_cast<size_t>(count) : 0;
  const size_t advance = std::min(skipped, src->bytes_in_buffer);
  src->next_input_byte += advance;
  src->bytes_in_buffer -= advance;
}

// Pillow reads 4-channel JPEGs as Adobe-inverted CMYK ("CMYK;I"), then converts with
// Convert.c's cmyk2rgb: channel = clip(nk - nk*c/255) with nk = 255 - k, rounded as MULDIV255.
void inverted_cmyk_to_rgb(const uint8_t* cmyk, int width, uint8_t* rgb) {
  const auto muldiv255 = [](int a, int b) {
    const int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const int nk = cmyk[3];  // 255 - (255 - stored k)
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(nk - muldiv255(255 - cmyk[c], nk));
  }
}

// JpegImagePlugin.draft: the largest of 1/8, 1/4, 1/2 that keeps both sides at least
// draft_size, else full size; libjpeg then decodes ceil(side / scale) pixels each way.
unsigned pillow_draft_scale(JDIMENSION width, JDIMENSION height, int draft_size) {
  const JDIMENSION fits = std::min(width / draft_size, height / draft_size);
  for (const unsigned scale : {8u, 4u, 2u}) {
    if (fits >= scale) return scale;
  }
  return 1;
}

// A libjpeg decompressor reading `bytes` through a suspending source; destroyed with it.
// libjpeg's errors longjmp to the setjmp of the function that made the failing call, so those
// functions hold no C++ objects with destructors: what must survive lives here.
struct Decompressor {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  jpeg_source_mgr source{};

  explicit Decompressor(std::span<const uint8_t> bytes) {
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = jump_to_error;
    errors.pub.output_message = ignore_message;
    jpeg_create_decompress(&cinfo);
    source.next_input_byte = bytes.data();
    source.bytes_in_buffer = bytes.size();
    source.init_source = noop_source;
    source.fill_input_buffer = suspend_at_end;
    source.skip_input_data = skip_input;
    source.resync_to_restart = jpeg_resync_to_restart;
    source.term_source = noop_source;
    cinfo.src = &source;
  }
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  std::string error_message() {
    char message[JMSG_LENGTH_MAX];
    errors.pub.format_message(reinterpret_cast<j_common_ptr>(&cinfo), message);
    return message;
  }
};

constexpr std::string_view kTruncated = "image file is truncated";

// libjpeg reads the markers up to the first scan. Fails with kTruncated when the bytes end
// first, or with libjpeg's error.
Status read_header(Decompressor& d) {
  if (setjmp(d.errors.jump)) return Status::failure(d.error_message());
  int header;
  do {
    header = jpeg_read_header(&d.cinfo, FALSE);
  } while (header == JPEG_HEADER_TABLES_ONLY);
  return header == JPEG_SUSPENDED ? Status::failure(std::string(kTruncated)) : Status();
}

// The scans, after read_header and the size check: ok, or fails with the error message.
Status run_libjpeg(Decompressor& d, int draft_size, RgbRowSink& sink,
                   std::vector<uint8_t>& cmyk_rows) {
  if (setjmp(d.errors.jump)) return Status::failure(d.error_message());
  jpeg_decompress_struct& cinfo = d.cinfo;
  if (draft_size > 0) {
    cinfo.scale_num = 1;
    cinfo.scale_denom = pillow_draft_scale(cinfo.image_width, cinfo.image_height, draft_size);
  }

  // Pillow's defaults (JpegDecode.c, also in its draft(): that only sets the scale): libjpeg's
  // ISLOW DCT and fancy upsampling. Greyscale comes out replicated to RGB exactly as Pillow's
  // L -> RGB does. libjpeg-turbo's SIMD runs them by default, with identical results.
  const bool cmyk = cinfo.num_components == 4;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  if (!jpeg_start_decompress(&cinfo)) return Status::failure(std::string(kTruncated));

  // libjpeg writes straight into the sink's rows (CMYK goes through one strip of its own).
  const int width = static_cast<int>(cinfo.output_width);
  sink.start(width, static_cast<int>(cinfo.output_height));
  const size_t row_bytes = size_t{cinfo.output_width} * 3;
  const size_t cmyk_row_bytes = size_t{cinfo.output_width} * 4;
  JSAMPROW rows[4];  // libjpeg hands out at most rec_outbuf_height (<= 4) rows per call
  const int rows_per_call = std::min(cinfo.rec_outbuf_height, 4);
  if (cmyk) cmyk_rows.resize(cmyk_row_bytes * rows_per_call);
  while (cinfo.output_scanline < cinfo.output_height) {
    const RgbRowSink::Rows strip = sink.next_rows();
    const int strip_rows = static_cast<int>(
        std::min<JDIMENSION>(strip.rows, cinfo.output_height - cinfo.output_scanline));
    for (int filled = 0; filled < strip_rows;) {
      const int wanted = std::min(rows_per_call, strip_rows - filled);
      for (int r = 0; r < wanted; ++r) {
        rows[r] = cmyk ? &cmyk_rows[cmyk_row_bytes * r] : strip.data + (filled + r) * row_bytes;
      }
      const int read = static_cast<int>(jpeg_read_scanlines(&cinfo, rows, wanted));
      if (read == 0) return Status::failure(std::string(kTruncated));
      if (cmyk) {
        for (int r = 0; r < read; ++r) {
          inverted_cmyk_to_rgb(rows[r], width, strip.data + (filled + r) * row_bytes);
        }
      }
      filled += read;
    }
    sink.rows_written(strip_rows);
  }
  // Like Pillow, a file that ends after the last row but before EOI is complete enough.
  jpeg_finish_decompress(&cinfo);
  return Status();
}

}  // namespace

Status decode_jpeg(std::span<const uint8_t> bytes, int64_t max_pixels, int draft_size,
                   RgbRowSink& sink) {
  if (Status refused = check_markers_like_pillow(bytes); !refused.ok()) {
    return in_format("JPEG", refused);
  }
  Decompressor decompressor(bytes);
  if (Status header = read_header(decompressor); !header.ok()) return in_format("JPEG", header);
  // Pillow refuses by the size in the header, whatever scale it decodes at.
  if (Status refused =
          refuse_size(decompressor.cinfo.image_width, decompressor.cinfo.image_height, max_pixels);
      !refused.ok()) {
    return in_format("JPEG", refused);
  }
  std::vector<uint8_t> cmyk_rows;
  return in_format("JPEG", run_libjpeg(decompressor, draft_size, sink, cmyk_rows));
}

Status jpeg_header_refusal(std::span<const uint8_t> prefix, int64_t max_pixels) {
  // Both walks stop at the first scan, so a header complete in the prefix reads as in the file.
  if (!check_markers_like_pillow(prefix).ok()) return Status();
  Decompressor decompressor(prefix);
  if (!read_header(decompressor).ok()) return Status();
  return in_format("JPEG", refuse_size(decompressor.cinfo.image_width,
                                       decompressor.cinfo.image_height, max_pixels));
}

Result<Rgb8Image> decode_jpeg(std::span<const uint8_t> bytes, int64_t max_pixels, int draft_size) {
  ImageRowSink sink;
  if (Status decoded = decode_jpeg(bytes, max_pixels, draft_size, sink); !decoded.ok()) {
    return decoded;
  }
  return std::move(sink.image());
}

}  // namespace pomona::image_internal
