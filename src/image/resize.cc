// resize_like_pillow: Pillow's Image.resize((w, h)) with its default BICUBIC filter on RGB,
// byte for byte. Pillow (src/libImaging/Resample.c) computes each output sample along one axis
// as a fixed-point weighted sum of a run of input samples; the weights depend only on the input
// and output lengths of that axis, so they are computed once per length pair and cached. The
// sums run in the widest vector instructions the CPU has (resize_kernels.h), with the same
// integer arithmetic, so every instruction set gives the same bytes.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "pomona/error.h"
#include "pomona/image.h"
#include "resize_kernels.h"
#include "resize_rows.h"

namespace pomona {
namespace image_internal {
namespace {

constexpr double kBicubicSupport = 2.0;

// Keys's cubic convolution kernel with a = -0.5. The expressions keep Pillow's operation order:
// the weights are doubles rounded to fixed point, so a reordering could flip a rounding.
double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

int32_t to_fixed_point(double weight) {
  // Pillow rounds half away from zero by truncating after adding +-0.5.
  const double scaled = weight * (1 << kPrecisionBits);
  return static_cast<int32_t>(weight < 0 ? scaled - 0.5 : scaled + 0.5);
}

// Spreads each output's weights over vectors of whole pixels, one weight per channel lane.
void lay_out_for_vectors(int in_size, const ResizeKernels& kernels, AxisWeights& axis) {
  const int taps_per_vector = kernels.taps_per_vector;
  const int lanes = kernels.lanes_per_vector;
  if (taps_per_vector == 0) return;
  const size_t out_size = axis.first.size();
  axis.taps_per_vector = taps_per_vector;
  axis.lanes_per_vector = lanes;
  axis.group_start.resize(out_size);
  axis.groups.resize(out_size);
  int total_groups = 0;
  size_t read_end = 0;
  for (size_t i = 0; i < out_size; ++i) {
    axis.group_start[i] = total_groups;
    axis.groups[i] = (axis.count[i] + taps_per_vector - 1) / taps_per_vector;
    total_groups += axis.groups[i];
    const size_t last_vector = static_cast<size_t>(axis.first[i]) +
                               static_cast<size_t>(axis.groups[i] - 1) * taps_per_vector;
    read_end = std::max(read_end, last_vector * kChannels + lanes);
  }
  axis.overread_bytes = read_end - std::min(read_end, static_cast<size_t>(in_size) * kChannels);
  axis.lane_weights.assign(static_cast<size_t>(total_groups) * lanes, 0);
  for (size_t i = 0; i < out_size; ++i) {
    int32_t* lanes_of_output = &axis.lane_weights[static_cast<size_t>(axis.group_start[i]) * lanes];
    for (int t = 0; t < axis.count[i]; ++t) {
      int32_t* pixel =
          lanes_of_output + (t / taps_per_vector) * lanes + (t % taps_per_vector) * kChannels;
      std::fill_n(pixel, kChannels, axis.weights[i * axis.stride + t]);
    }
  }
}

AxisWeights compute_axis_weights(int in_size, int out_size, const ResizeKernels& kernels) {
  // Pillow's box is floats (0, in_size); their difference is exact for any image size it takes.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  // Shrinking widens the kernel by the scale factor: that is Pillow's antialiasing.
  const double filter_scale = std::max(scale, 1.0);
  const double support = kBicubicSupport * filter_scale;
  const double inverse_filter_scale = 1.0 / filter_scale;

  AxisWeights axis;
  axis.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weights.assign(static_cast<size_t>(out_size) * axis.stride, 0);
  std::vector<double> raw(axis.stride);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // Truncation toward zero, as Pillow's (int) casts do.
    const int first = std::max(static_cast<int>(center - support + 0.5), 0);
    const int end = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int count = end - first;
    double sum = 0.0;
    for (int t = 0; t < count; ++t) {
      raw[t] = bicubic_kernel((t + first - center + 0.5) * inverse_filter_scale);
      sum += raw[t];
    }
    int32_t* weights = &axis.weights[static_cast<size_t>(i) * axis.stride];
    for (int t = 0; t < count; ++t) {
      weights[t] = to_fixed_point(sum != 0.0 ? raw[t] / sum : raw[t]);
    }
    axis.first[i] = first;
    axis.count[i] = count;
  }
  lay_out_for_vectors(in_size, kernels, axis);
  return axis;
}

// Every Fruits-360 image is 100x100 -> 224x224, so a handful of length pairs cover a whole job.
// The cache is bounded because a folder of photos can bring many distinct sizes.
std::shared_ptr<const AxisWeights> axis_weights(int in_size, int out_size,
                                                const ResizeKernels& kernels) {
  constexpr size_t kMaxCachedAxes = 64;
  static std::mutex mutex;
  static std::map<std::tuple<int, int, const ResizeKernels*>, std::shared_ptr<const AxisWeights>>
      cache;
  const std::tuple key(in_size, out_size, &kernels);
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto computed =
      std::make_shared<const AxisWeights>(compute_axis_weights(in_size, out_size, kernels));
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedAxes) cache.clear();
  return cache.emplace(key, std::move(computed)).first->second;
}

uint8_t clip_to_byte(int32_t sum) {
  return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255));
}

void scalar_resample_rows(const uint8_t* src, size_t row_bytes, int first_src_row,
                          const AxisWeights& axis, uint8_t* dst) {
  const int dst_rows = static_cast<int>(axis.first.size());
  for (int y = 0; y < dst_rows; ++y) {
    const int32_t* weights = &axis.weights[static_cast<size_t>(y) * axis.stride];
    const uint8_t* in = src + (axis.first[y] - first_src_row) * row_bytes;
    uint8_t* out = dst + y * row_bytes;
    for (size_t i = 0; i < row_bytes; ++i) {
      int32_t sum = kRoundingHalf;
      for (int t = 0; t < axis.count[y]; ++t) sum += in[t * row_bytes + i] * weights[t];
      out[i] = clip_to_byte(sum);
    }
  }
}

void scalar_resample_columns(const uint8_t* src, int src_width, int rows, const AxisWeights& axis,
                             uint8_t* dst) {
  const int dst_width = static_cast<int>(axis.first.size());
  for (int y = 0; y < rows; ++y) {
    const uint8_t* row = src + static_cast<size_t>(y) * src_width * kChannels;
    uint8_t* out = dst + static_cast<size_t>(y) * dst_width * kChannels;
    for (int x = 0; x < dst_width; ++x, out += kChannels) {
      const int32_t* weights = &axis.weights[static_cast<size_t>(x) * axis.stride];
      const uint8_t* in = row + static_cast<size_t>(axis.first[x]) * kChannels;
      for (int c = 0; c < kChannels; ++c) {
        int32_t sum = kRoundingHalf;
        for (int t = 0; t < axis.count[x]; ++t) sum += in[t * kChannels + c] * weights[t];
        out[c] = clip_to_byte(sum);
      }
    }
  }
}

const ResizeKernels& kernels_for(ResizeIsa isa) {
  switch (isa) {
    case ResizeIsa::kAvx2:
      return avx2_kernels();
    case ResizeIsa::kAvx512:
      return avx512_kernels();
    case ResizeIsa::kScalar:
      break;
  }
  return scalar_kernels();
}

// Pillow 13 runs the vertical pass first when the height loses more than twice as many pixels as
// the width does (python-pillow/Pillow#9549). Each pass rounds to bytes, so the order shows in
// the output.
bool pillow_resizes_vertically_first(int src_width, int src_height, int width, int height) {
  const int rows_removed = src_height - height;
  return rows_removed > 0 && rows_removed > 2 * (src_width - width);
}

}  // namespace

const ResizeKernels& scalar_kernels() {
  static const ResizeKernels kernels{scalar_resample_rows, scalar_resample_columns, 0, 0};
  return kernels;
}

const char* isa_name(ResizeIsa isa) {
  switch (isa) {
    case ResizeIsa::kAvx2:
      return "avx2";
    case ResizeIsa::kAvx512:
      return "avx512";
    case ResizeIsa::kScalar:
      break;
  }
  return "scalar";
}

std::vector<ResizeIsa> available_resize_isas() {
  std::vector<ResizeIsa> isas{ResizeIsa::kScalar};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) isas.push_back(ResizeIsa::kAvx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
    isas.push_back(ResizeIsa::kAvx512);
  }
  return isas;
}

ResizeIsa default_resize_isa() {
  static const ResizeIsa chosen = [] {
    const std::vector<ResizeIsa> available = available_resize_isas();
    const char* forced = std::getenv("POMONA_IMAGE_ISA");
    if (forced == nullptr || *forced == '\0') return available.back();
    for (ResizeIsa isa : available) {
      if (std::string(forced) == isa_name(isa)) return isa;
    }
    throw JobError(ExitCode::kConfiguration,
                   std::string("POMONA_IMAGE_ISA=") + forced +
                       ": not one of scalar, avx2, avx512 that this CPU runs");
  }();
  return chosen;
}

Rgb8Image resize_like_pillow_on(ResizeIsa isa, const Rgb8Image& src, int width, int height) {
  assert(src.width > 0 && src.height > 0 && width > 0 && height > 0);
  assert(src.pixels.size() == static_cast<size_t>(src.width) * src.height * kChannels);
  // Pillow returns a copy when the size does not change, and skips the pass of an axis whose
  // length does not change.
  if (width == src.width && height == src.height) return src;

  const ResizeKernels& kernels = kernels_for(isa);
  Rgb8Image resized{width, height,
                    std::vector<uint8_t>(static_cast<size_t>(width) * height * kChannels)};
  const size_t src_row_bytes = static_cast<size_t>(src.width) * kChannels;
  const size_t row_bytes = static_cast<size_t>(width) * kChannels;
  if (width == src.width) {
    kernels.resample_rows(src.pixels.data(), row_bytes, 0,
                          *axis_weights(src.height, height, kernels), resized.pixels.data());
    return resized;
  }
  const auto horizontal = axis_weights(src.width, width, kernels);
  if (height == src.height) {
    kernels.resample_columns(src.pixels.data(), src.width, height, *horizontal,
                             resized.pixels.data());
    return resized;
  }

  const auto vertical = axis_weights(src.height, height, kernels);
  if (pillow_resizes_vertically_first(src.width, src.height, width, height)) {
    std::vector<uint8_t> columns_resized(src_row_bytes * height);
    kernels.resample_rows(src.pixels.data(), src_row_bytes, 0, *vertical, columns_resized.data());
    kernels.resample_columns(columns_resized.data(), src.width, height, *horizontal,
                             resized.pixels.data());
    return resized;
  }
  // The horizontal pass only produces the input rows that some output row reads.
  const int first_row = vertical->first.front();
  const int end_row = vertical->first.back() + vertical->count.back();
  std::vector<uint8_t> rows_resized(row_bytes * (end_row - first_row));
  kernels.resample_columns(src.pixels.data() + first_row * src_row_bytes, src.width,
                           end_row - first_row, *horizontal, rows_resized.data());
  kernels.resample_rows(rows_resized.data(), row_bytes, first_row, *vertical,
                        resized.pixels.data());
  return resized;
}

RowStreamResizer::RowStreamResizer(int width, int height) : width_(width), height_(height) {
  assert(width > 0 && height > 0);
}

void RowStreamResizer::start(int src_width, int src_height) {
  streaming_ = src_width != width_ && src_height != height_ &&
               !pillow_resizes_vertically_first(src_width, src_height, width_, height_);
  if (!streaming_) {
    whole_.start(src_width, src_height);
    return;
  }
  src_width_ = src_width;
  kernels_ = &kernels_for(default_resize_isa());
  horizontal_ = axis_weights(src_width, width_, *kernels_);
  vertical_ = axis_weights(src_height, height_, *kernels_);
  first_needed_row_ = vertical_->first.front();
  end_needed_row_ = vertical_->first.back() + vertical_->count.back();
  resized_rows_.resize(static_cast<size_t>(width_) * kChannels *
                       (end_needed_row_ - first_needed_row_));
  // Strips of about 192 KiB stay in the L2 cache between the decoder writing them and the
  // horizontal pass reading them.
  constexpr size_t kStripBytes = 192 * 1024;
  const size_t src_row_bytes = static_cast<size_t>(src_width) * kChannels;
  strip_rows_ = static_cast<int>(std::clamp<size_t>(kStripBytes / src_row_bytes, 1, 64));
  strip_.resize(src_row_bytes * strip_rows_);
}

RgbRowSink::Rows RowStreamResizer::next_rows() {
  if (!streaming_) return whole_.next_rows();
  return {strip_.data(), strip_rows_};
}

void RowStreamResizer::rows_written(int count) {
  if (!streaming_) {
    whole_.rows_written(count);
    return;
  }
  // Only the strip's rows that some output row reads go through the horizontal pass.
  const int first = std::max(next_row_, first_needed_row_);
  const int end = std::min(next_row_ + count, end_needed_row_);
  if (first < end) {
    const size_t src_row_bytes = static_cast<size_t>(src_width_) * kChannels;
    kernels_->resample_columns(
        strip_.data() + (first - next_row_) * src_row_bytes, src_width_, end - first, *horizontal_,
        resized_rows_.data() + static_cast<size_t>(first - first_needed_row_) * width_ * kChannels);
  }
  next_row_ += count;
}

Rgb8Image RowStreamResizer::finish() {
  if (!streaming_) {
    Rgb8Image& whole = whole_.image();
    if (whole.width == width_ && whole.height == height_) return std::move(whole);
    return resize_like_pillow(whole, width_, height_);
  }
  Rgb8Image resized{width_, height_,
                    std::vector<uint8_t>(static_cast<size_t>(width_) * height_ * kChannels)};
  kernels_->resample_rows(resized_rows_.data(), static_cast<size_t>(width_) * kChannels,
                          first_needed_row_, *vertical_, resized.pixels.data());
  return resized;
}

}  // namespace image_internal

Rgb8Image resize_like_pillow(const Rgb8Image& src, int width, int height) {
  return image_internal::resize_like_pillow_on(image_internal::default_resize_isa(), src, width,
                                               height);
}

}  // namespace pomona
