// A PNG reader that follows Pillow's PngImagePlugin.py and ZipDecode.c step by step rather than
// libpng, because Pillow's rules differ from libpng's in ways that decide accept/refuse: it skips
// the CRC of IDAT chunks, stops at the last row without reading the zlib checksum or IEND, and
// leaves rows black when the zlib stream ends early at a row boundary.
#include "png_decode.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode_common.h"
#include "png_chunks.h"

namespace pomona::image_internal {
namespace {

uint32_t read_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

enum ColorType : uint8_t { kGrey = 0, kRgb = 2, kPalette = 3, kGreyAlpha = 4, kRgba = 6 };

struct Header {
  int64_t width = 0;
  int64_t height = 0;
  int bit_depth = 0;
  ColorType color_type = kGrey;
  bool interlaced = false;
  bool valid_mode = false;  // a (bit depth, colour type) pair in Pillow's _MODES

  int channels() const {
    switch (color_type) {
      case kRgb:
        return 3;
      case kGreyAlpha:
        return 2;
      case kRgba:
        return 4;
      default:
        return 1;
    }
  }
  int bits_per_pixel() const { return bit_depth * channels(); }
};

bool is_valid_mode(int bit_depth, int color_type) {
  switch (color_type) {
    case kGrey:
      return bit_depth == 1 || bit_depth == 2 || bit_depth == 4 || bit_depth == 8 ||
             bit_depth == 16;
    case kPalette:
      return bit_depth == 1 || bit_depth == 2 || bit_depth == 4 || bit_depth == 8;
    case kRgb:
    case kGreyAlpha:
    case kRgba:
      return bit_depth == 8 || bit_depth == 16;
    default:
      return false;
  }
}

// The content checks of Pillow's chunk handlers that refuse a file; ok when the chunk is fine.
Status check_chunk_content(const PngChunk& chunk, const Header& header, bool have_header) {
  const size_t size = chunk.data.size();
  const auto too_short = [&](size_t minimum) {
    return size < minimum ? Status::failure("truncated " + std::string(chunk.type) + " chunk")
                          : Status();
  };
  if (chunk.type == "gAMA") return too_short(4);
  if (chunk.type == "cHRM") return too_short(32);
  if (chunk.type == "sRGB") return too_short(1);
  if (chunk.type == "pHYs") return too_short(9);
  if (chunk.type == "tRNS" && have_header && header.valid_mode) {
    if (header.color_type == kGrey) return too_short(2);
    if (header.color_type == kRgb) return too_short(6);
  }
  if (chunk.type == "PLTE" && have_header && header.valid_mode && header.color_type == kPalette &&
      size / 3 > 256) {
    return Status::failure("invalid palette size");
  }
  return Status();
}

// Everything read before the image data.
struct Preamble {
  Header header;
  std::array<uint8_t, 256 * 3> palette{};  // Pillow's palette starts black
  size_t first_idat = 0;                   // offset of the first IDAT chunk header
};

Result<Preamble> read_preamble(std::span<const uint8_t> bytes) {
  Preamble preamble;
  bool have_header = false;
  Header& header = preamble.header;
  PngChunkWalker chunks(bytes);
  for (PngChunk chunk;;) {
    if (!chunks.next(chunk)) {
      switch (chunks.end()) {
        case PngChunkWalker::End::kBadChunkId:
          return Result<Preamble>::failure("broken file (bad chunk id)");
        case PngChunkWalker::End::kIend:
          return Result<Preamble>::failure("no image data");
        default:
          return Result<Preamble>::failure("file ends before the image data");
      }
    }
    if (chunk.type == "IDAT") {
      preamble.first_idat = chunk.offset;
      break;
    }
    if (!chunk.complete() || chunk.crc.size() < 4) {
      return Result<Preamble>::failure("file ends inside chunk " + std::string(chunk.type));
    }
    if (!chunk.crc_matches()) {
      return Result<Preamble>::failure("broken file (bad checksum in chunk " +
                                       std::string(chunk.type) + ")");
    }
    if (Status content = check_chunk_content(chunk, header, have_header); !content.ok()) {
      return content;
    }
    const std::span<const uint8_t> data = chunk.data;
    if (chunk.type == "IHDR") {
      if (data.size() < 13) return Result<Preamble>::failure("truncated IHDR chunk");
      if (data[11] != 0) return Result<Preamble>::failure("unknown filter category");
      header.width = read_u32(&data[0]);
      header.height = read_u32(&data[4]);
      header.valid_mode = header.valid_mode || is_valid_mode(data[8], data[9]);
      if (is_valid_mode(data[8], data[9])) {
        header.bit_depth = data[8];
        header.color_type = static_cast<ColorType>(data[9]);
      }
      header.interlaced = header.interlaced || data[12] != 0;
      have_header = true;
    } else if (chunk.type == "PLTE" && have_header && header.valid_mode &&
               header.color_type == kPalette) {
      preamble.palette.fill(0);
      std::copy_n(data.begin(), data.size() / 3 * 3, preamble.palette.begin());
    }
  }
  if (!header.valid_mode) {
    return Result<Preamble>::failure(have_header ? "unsupported bit depth and colour type"
                                                 : "missing IHDR chunk");
  }
  return preamble;
}

// Unpacks `count` pixels of one filtered-out row to RGB, as Pillow's unpacker for the PNG's
// rawmode followed by convert('RGB'): low bit depths scale to 0..255, 16-bit samples keep the
// high byte except plain 16-bit grey ("I;16"), which clips to 255; alpha is dropped.
void unpack_row_to_rgb(const Header& header, const std::array<uint8_t, 768>& palette,
                       const uint8_t* src, int64_t count, uint8_t* rgb) {
  const int depth = header.bit_depth;
  if (depth < 8) {
    const int mask = (1 << depth) - 1;
    const int scale = 255 / mask;
    for (int64_t x = 0; x < count; ++x, rgb += 3) {
      const int64_t bit = x * depth;
      const int value = (src[bit / 8] >> (8 - depth - bit % 8)) & mask;
      if (header.color_type == kPalette) {
        std::memcpy(rgb, &palette[value * 3], 3);
      } else {
        rgb[0] = rgb[1] = rgb[2] = static_cast<uint8_t>(value * scale);
      }
    }
    return;
  }
  const int sample_bytes = depth / 8;
  const int pixel_bytes = sample_bytes * header.channels();
  for (int64_t x = 0; x < count; ++x, src += pixel_bytes, rgb += 3) {
    switch (header.color_type) {
      case kPalette:
        std::memcpy(rgb, &palette[src[0] * 3], 3);
        break;
      case kGrey:
        rgb[0] = rgb[1] = rgb[2] = (sample_bytes == 2 && src[0] != 0) ? 255 : src[sample_bytes - 1];
        break;
      case kGreyAlpha:
        rgb[0] = rgb[1] = rgb[2] = src[0];
        break;
      case kRgb:
      case kRgba:
        rgb[0] = src[0];
        rgb[1] = src[sample_bytes];
        rgb[2] = src[2 * sample_bytes];
        break;
    }
  }
}

// Undoes the PNG filter of row[1..row_len] in place (row[0] is the filter type), exactly as
// ZipDecode.c. Returns false for an unknown filter type.
bool unfilter_row(uint8_t* row, const uint8_t* previous, size_t row_len, size_t bpp) {
  switch (row[0]) {
    case 0:
      return true;
    case 1:
      for (size_t i = bpp + 1; i <= row_len; ++i) row[i] += row[i - bpp];
      return true;
    case 2:
      for (size_t i = 1; i <= row_len; ++i) row[i] += previous[i];
      return true;
    case 3: {
      size_t i = 1;
      for (; i <= bpp && i <= row_len; ++i) row[i] += previous[i] / 2;
      for (; i <= row_len; ++i) row[i] += (row[i - bpp] + previous[i]) / 2;
      return true;
    }
    case 4: {
      size_t i = 1;
      for (; i <= bpp && i <= row_len; ++i) row[i] += previous[i];
      for (; i <= row_len; ++i) {
        const int a = row[i - bpp], b = previous[i], c = previous[i - bpp];
        const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
        row[i] += (pa <= pb && pa <= pc) ? a : (pb <= pc) ? b : c;
      }
      return true;
    }
    default:
      return false;
  }
}

// Adam7 passes, as in ZipDecode.c.
constexpr int kPassOffset[] = {7, 3, 3, 1, 1, 0, 0};
constexpr int kStartingCol[] = {0, 4, 0, 2, 0, 1, 0};
constexpr int kStartingRow[] = {0, 0, 4, 0, 2, 0, 1};
constexpr int kColIncrement[] = {8, 8, 4, 4, 2, 2, 1};
constexpr int kRowIncrement[] = {8, 8, 8, 4, 4, 2, 2};

// The bytes of one row of an Adam7 pass, filter type byte not included.
size_t pass_row_bytes(const Header& header, int pass) {
  const int64_t pixels = (header.width + kPassOffset[pass]) / kColIncrement[pass];
  return static_cast<size_t>((pixels * header.bits_per_pixel() + 7) / 8);
}

// How many bytes of filtered rows (filter type bytes included) the image has, over every pass.
size_t inflated_size(const Header& header) {
  const size_t full_row_bytes = (header.width * header.bits_per_pixel() + 7) / 8;
  if (!header.interlaced) return static_cast<size_t>(header.height) * (full_row_bytes + 1);
  size_t total = 0;
  for (int pass = 0; pass < 7; ++pass) {
    const size_t row_len = pass_row_bytes(header, pass);
    if (row_len == 0 || kStartingRow[pass] >= header.height) continue;  // RowDecoder skips it
    const int64_t rows =
        (header.height - kStartingRow[pass] + kRowIncrement[pass] - 1) / kRowIncrement[pass];
    total += static_cast<size_t>(rows) * (row_len + 1);
  }
  return total;
}

// The rows of one image, fed with IDAT data, turned into RGB rows of `sink` (an interlaced
// image's rows are scattered over the passes, so it is assembled whole first).
class RowDecoder {
 public:
  // Requires the header's size accepted by refuse_size.
  RowDecoder(const Preamble& preamble, RgbRowSink& sink)
      : header_(preamble.header),
        palette_(preamble.palette),
        sink_(sink),
        out_row_bytes_(static_cast<size_t>(header_.width) * 3),
        full_row_bytes_((header_.width * header_.bits_per_pixel() + 7) / 8),
        bpp_((header_.bits_per_pixel() + 7) / 8),
        row_(full_row_bytes_ + 1),
        previous_(full_row_bytes_ + 1, 0) {
    const int width = static_cast<int>(header_.width);
    const int height = static_cast<int>(header_.height);
    if (header_.interlaced) {
      interlaced_image_ = {width, height, std::vector<uint8_t>(out_row_bytes_ * height)};
      pass_row_rgb_.resize(out_row_bytes_);
    } else {
      sink_.start(width, height);
    }
    row_len_ = header_.interlaced ? pass_row_bytes(header_, 0) : full_row_bytes_;
  }
  ~RowDecoder() {
    if (started_) inflateEnd(&stream_);
  }
  RowDecoder(const RowDecoder&) = delete;
  RowDecoder& operator=(const RowDecoder&) = delete;

  enum class Progress { kNeedMore, kDone, kError };

  // Feeds the next piece of compressed data (ZipDecode's main loop).
  Progress feed(std::span<const uint8_t> input) {
    if (!started_) {
      if (inflateInit(&stream_) != Z_OK) return fail("zlib initialisation failed");
      started_ = true;
    }
    stream_.next_in = const_cast<Bytef*>(input.data());
    stream_.avail_in = static_cast<uInt>(input.size());
    while (stream_.avail_in > 0) {
      stream_.next_out = row_.data() + last_output_;
      stream_.avail_out = static_cast<uInt>(row_len_ + 1 - last_output_);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      if (status < 0) {
        return fail(std::string("broken image data (") + (stream_.msg ? stream_.msg : "zlib") +
                    ")");
      }
      const size_t produced = row_len_ + 1 - stream_.avail_out;
      if (produced < row_len_ + 1) {
        last_output_ = produced;
        break;
      }
      if (!unfilter_row(row_.data(), previous_.data(), row_len_, bpp_)) {
        return fail("unrecognized data stream contents (filter type " + std::to_string(row_[0]) +
                    ")");
      }
      emit_row();
      last_output_ = 0;
      if (y_ >= header_.height || status == Z_STREAM_END) return Progress::kDone;
      row_.swap(previous_);
    }
    return Progress::kNeedMore;
  }

  // The whole inflated data at once, inflated_size(header) bytes: the rows as feed() takes them.
  Progress take_inflated(std::span<const uint8_t> inflated) {
    for (const uint8_t* next = inflated.data(); y_ < header_.height;) {
      std::memcpy(row_.data(), next, row_len_ + 1);
      next += row_len_ + 1;  // before emit_row moves on to the next pass's row length
      if (!unfilter_row(row_.data(), previous_.data(), row_len_, bpp_)) {
        return fail("unrecognized data stream contents (filter type " + std::to_string(row_[0]) +
                    ")");
      }
      emit_row();
      row_.swap(previous_);
    }
    return Progress::kDone;
  }

  const std::string& error() const { return error_; }

  // After kDone: hands the sink what it has not had yet. Rows the data did not reach stay black,
  // as in Pillow when the zlib stream ends early.
  void finish() {
    if (header_.interlaced) {
      write_rows(interlaced_image_, sink_);
      return;
    }
    for (; y_ < header_.height; ++y_) std::fill_n(next_output_row(), out_row_bytes_, 0);
    if (strip_used_ > 0) sink_.rows_written(strip_used_);
  }

 private:
  // Where row y_ goes in the sink's current strip, handing the sink full strips.
  uint8_t* next_output_row() {
    if (strip_used_ == strip_.rows) {
      if (strip_used_ > 0) sink_.rows_written(strip_used_);
      strip_ = sink_.next_rows();
      strip_used_ = 0;
    }
    return strip_.data + strip_used_++ * out_row_bytes_;
  }

  void emit_row() {
    if (!header_.interlaced) {
      unpack_row_to_rgb(header_, palette_, row_.data() + 1, header_.width, next_output_row());
      ++y_;
      return;
    }
    uint8_t* out_row = &interlaced_image_.pixels[static_cast<size_t>(y_) * out_row_bytes_];
    const int64_t pixels = (header_.width + kPassOffset[pass_]) / kColIncrement[pass_];
    unpack_row_to_rgb(header_, palette_, row_.data() + 1, pixels, pass_row_rgb_.data());
    for (int64_t i = 0; i < pixels; ++i) {
      const int64_t col = kStartingCol[pass_] + i * kColIncrement[pass_];
      std::memcpy(out_row + col * 3, &pass_row_rgb_[i * 3], 3);
    }
    y_ += kRowIncrement[pass_];
    while (y_ >= header_.height || row_len_ == 0) {
      if (++pass_ == 7) {
        y_ = header_.height;
        break;
      }
      y_ = kStartingRow[pass_];
      row_len_ = pass_row_bytes(header_, pass_);
      // The first row of a pass is filtered against black; row_ becomes previous_ next.
      std::fill(row_.begin(), row_.end(), 0);
    }
  }

  Progress fail(std::string message) {
    error_ = std::move(message);
    return Progress::kError;
  }

  const Header& header_;
  const std::array<uint8_t, 768>& palette_;
  RgbRowSink& sink_;
  const size_t out_row_bytes_;
  RgbRowSink::Rows strip_{nullptr, 0};
  int strip_used_ = 0;
  Rgb8Image interlaced_image_;
  const size_t full_row_bytes_;
  const size_t bpp_;
  std::vector<uint8_t> row_;
  std::vector<uint8_t> previous_;
  std::vector<uint8_t> pass_row_rgb_;
  size_t row_len_ = 0;
  size_t last_output_ = 0;
  int64_t y_ = 0;
  int pass_ = 0;
  z_stream stream_{};
  bool started_ = false;
  std::string error_;
};

// After the last row Pillow still walks the chunks that follow (load_end): a chunk cut short by
// the end of the file, or one its handler refuses, makes the whole image an error; a missing
// IEND or an unreadable chunk header just ends the walk.
Status check_trailing_chunks(PngChunkWalker& chunks, const Header& header) {
  for (PngChunk chunk; chunks.next(chunk);) {
    if (!chunk.complete()) {
      return Status::failure("image file is truncated (inside chunk " + std::string(chunk.type) +
                             ")");
    }
    if (Status content = check_chunk_content(chunk, header, true); !content.ok()) return content;
  }
  return Status();
}

}  // namespace

// libdeflate inflates a whole zlib stream about 1.5x faster than zlib (90 against 138 ms of CPU
// for one of make bench's textured 3840x2160 RGBA PNGs), but only from and into whole buffers. It
// is used when the rows fit in kWholeInflateMaxBytes (memory per image stays bounded; larger images
// stream through zlib), the IDAT chunks are all complete and the stream is valid, ends exactly at
// the last IDAT byte and exactly fills the rows: then Pillow's row-by-row zlib gives the same rows
// and reaches the same chunks after them. Anything else (damage, an early or late stream end) takes
// the zlib path, which reproduces Pillow's handling of it. Returns how the decoding went, or
// nullopt when this path did not decode the image.
constexpr size_t kWholeInflateMaxBytes = size_t{64} << 20;

std::optional<Status> decode_png_inflating_whole(std::span<const uint8_t> bytes,
                                                 const Preamble& preamble, RgbRowSink& sink) {
  const size_t rows_size = inflated_size(preamble.header);
  if (rows_size > kWholeInflateMaxBytes) return std::nullopt;
  std::vector<std::span<const uint8_t>> pieces;
  size_t compressed_size = 0;
  size_t offset = preamble.first_idat;
  PngChunkWalker idat(bytes, offset);
  for (PngChunk chunk; idat.next(chunk) && chunk.type == "IDAT";) {
    if (!chunk.complete()) return std::nullopt;
    pieces.push_back(chunk.data);
    compressed_size += chunk.data.size();
    offset = chunk.next_offset();
  }
  if (compressed_size > kWholeInflateMaxBytes) return std::nullopt;
  // Kept per thread from one image to the next (at most 2 x kWholeInflateMaxBytes): fresh
  // buffers of tens of megabytes cost more in page faults than libdeflate saves.
  thread_local std::vector<uint8_t> joined;
  thread_local std::vector<uint8_t> inflated;
  // The chunks' data back to back: one IDAT chunk is used where it lies.
  std::span<const uint8_t> compressed = pieces.empty() ? std::span<const uint8_t>() : pieces[0];
  if (pieces.size() > 1) {
    joined.clear();
    for (const auto piece : pieces) joined.insert(joined.end(), piece.begin(), piece.end());
    compressed = joined;
  }

  inflated.resize(rows_size);
  const std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> inflater(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  size_t compressed_used = 0;
  size_t inflated_made = 0;
  if (!inflater ||
      libdeflate_zlib_decompress_ex(inflater.get(), compressed.data(), compressed.size(),
                                    inflated.data(), inflated.size(), &compressed_used,
                                    &inflated_made) != LIBDEFLATE_SUCCESS ||
      compressed_used != compressed.size() || inflated_made != inflated.size()) {
    return std::nullopt;
  }
  RowDecoder rows(preamble, sink);
  PngChunkWalker after_rows(bytes, offset);
  if (rows.take_inflated(inflated) == RowDecoder::Progress::kError) {
    return Status::failure("PNG: " + rows.error());
  }
  if (Status trailing = check_trailing_chunks(after_rows, preamble.header); !trailing.ok()) {
    return in_format("PNG", trailing);
  }
  rows.finish();
  return Status();
}

Status png_header_refusal(std::span<const uint8_t> prefix, int64_t max_pixels) {
  // The preamble ends at the first IDAT: one complete in the prefix reads as in the file.
  Result<Preamble> preamble = read_preamble(prefix);
  if (!preamble.ok()) return Status();
  const Header& header = preamble.value().header;
  return in_format("PNG", refuse_size(header.width, header.height, max_pixels));
}

Status decode_png(std::span<const uint8_t> bytes, int64_t max_pixels, RgbRowSink& sink) {
  Result<Preamble> preamble = read_preamble(bytes);
  if (!preamble.ok()) return Status::failure("PNG: " + preamble.error());
  const Header& header = preamble.value().header;
  if (Status refused = refuse_size(header.width, header.height, max_pixels); !refused.ok()) {
    return in_format("PNG", refused);
  }

  if (std::optional<Status> decoded = decode_png_inflating_whole(bytes, preamble.value(), sink)) {
    return *decoded;
  }
  // Consecutive IDAT chunks form one zlib stream (PngImageFile.load_read); anything else
  // before the last row means the image is truncated.
  RowDecoder rows(preamble.value(), sink);
  PngChunkWalker chunks(bytes, preamble.value().first_idat);
  for (PngChunk chunk;;) {
    if (!chunks.next(chunk) || chunk.type != "IDAT") {
      return Status::failure("PNG: image file is truncated");
    }
    switch (rows.feed(chunk.data)) {
      case RowDecoder::Progress::kError:
        return Status::failure("PNG: " + rows.error());
      case RowDecoder::Progress::kDone:
        if (Status trailing = check_trailing_chunks(chunks, header); !trailing.ok()) {
          return in_format("PNG", trailing);
        }
        rows.finish();
        return Status();
      case RowDecoder::Progress::kNeedMore:
        if (!chunk.complete()) return Status::failure("PNG: image file is truncated");
        break;
    }
  }
}

Result<Rgb8Image> decode_png(std::span<const uint8_t> bytes, int64_t max_pixels) {
  ImageRowSink sink;
  if (Status decoded = decode_png(bytes, max_pixels, sink); !decoded.ok()) return decoded;
  return std::move(sink.image());
}

}  // namespace pomona::image_internal
