// resize_like_pillow: Pillow's Image.resize((w, h)) with its default BICUBIC filter on RGB,
// byte for byte. Pillow (src/libImaging/Resample.c) computes each output sample along one axis
// as a fixed-point weighted sum of a run of input samples; the weights depend only on the input
// and output lengths of that axis, so they are computed once per length pair and cached.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "pomona/image.h"

namespace pomona {
namespace {

constexpr int kChannels = 3;

// Pillow keeps 8 bits for the result and 2 for overshoot of the filter's negative lobes.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr int32_t kRoundingHalf = 1 << (kPrecisionBits - 1);

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

// The weights that map one axis of in_size samples onto out_size samples. Output sample i reads
// input samples [first[i], first[i] + count[i]) with weights[i * stride + t], in fixed point.
struct AxisWeights {
  int stride = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

int32_t to_fixed_point(double weight) {
  // Pillow rounds half away from zero by truncating after adding +-0.5.
  const double scaled = weight * (1 << kPrecisionBits);
  return static_cast<int32_t>(weight < 0 ? scaled - 0.5 : scaled + 0.5);
}

AxisWeights compute_axis_weights(int in_size, int out_size) {
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
  return axis;
}

// Every Fruits-360 image is 100x100 -> 224x224, so a handful of length pairs cover a whole job.
// The cache is bounded because a folder of photos can bring many distinct sizes.
std::shared_ptr<const AxisWeights> axis_weights(int in_size, int out_size) {
  constexpr size_t kMaxCachedAxes = 64;
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::shared_ptr<const AxisWeights>> cache;
  const std::pair<int, int> key(in_size, out_size);
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto computed = std::make_shared<const AxisWeights>(compute_axis_weights(in_size, out_size));
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedAxes) cache.clear();
  return cache.emplace(key, std::move(computed)).first->second;
}

uint8_t clip_to_byte(int32_t sum) {
  return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255));
}

// One output row's bytes [0, size) from `taps` input rows `row_bytes` apart. Always inlined with a
// constant size, so that the sums stay in vector registers across the taps; it then also takes
// the instruction set of its caller's clone.
[[gnu::always_inline]] inline void resample_row_span(const uint8_t* __restrict in, size_t row_bytes,
                                                     const int32_t* weights, int taps, size_t size,
                                                     uint8_t* __restrict out) {
  constexpr size_t kMaxSpan = 48;
  int32_t sums[kMaxSpan];
  for (size_t i = 0; i < size; ++i) sums[i] = kRoundingHalf;
  for (int t = 0; t < taps; ++t) {
    const uint8_t* row = in + t * row_bytes;
    for (size_t i = 0; i < size; ++i) sums[i] += row[i] * weights[t];
  }
  for (size_t i = 0; i < size; ++i) out[i] = clip_to_byte(sums[i]);
}

// Weighted sums of whole rows: output row i is the clipped sum over t of weights[i][t] times
// input row first[i] - first_src_row + t, where src holds rows from first_src_row on. Every byte
// of a row shares the weight, so the work runs along rows in spans of 48 bytes (16 RGB pixels)
// and vectorises; the clones give AVX2's 32-bit multiplies to CPUs that have them.
__attribute__((target_clones("avx2", "default"))) void resample_rows(const uint8_t* src,
                                                                     size_t row_bytes,
                                                                     int first_src_row,
                                                                     const AxisWeights& axis,
                                                                     uint8_t* dst) {
  constexpr size_t kSpan = 48;
  const int dst_rows = static_cast<int>(axis.first.size());
  for (int y = 0; y < dst_rows; ++y) {
    const int32_t* weights = &axis.weights[static_cast<size_t>(y) * axis.stride];
    const uint8_t* in = src + (axis.first[y] - first_src_row) * row_bytes;
    uint8_t* out = dst + y * row_bytes;
    size_t i = 0;
    for (; i + kSpan <= row_bytes; i += kSpan) {
      resample_row_span(in + i, row_bytes, weights, axis.count[y], kSpan, out + i);
    }
    if (i < row_bytes) {
      resample_row_span(in + i, row_bytes, weights, axis.count[y], row_bytes - i, out + i);
    }
  }
}

// Copies the pixels of `rows` rows into column-major order: pixel (x, y) of src lands at pixel
// (y, x) of dst, a dst row being one src column.
void transpose_pixels(const uint8_t* src, int src_width, int rows, uint8_t* dst) {
  const size_t src_row_bytes = static_cast<size_t>(src_width) * kChannels;
  const size_t dst_row_bytes = static_cast<size_t>(rows) * kChannels;
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < src_width; ++x) {
      std::memcpy(dst + x * dst_row_bytes + y * kChannels, src + y * src_row_bytes + x * kChannels,
                  kChannels);
    }
  }
}

// Resamples `rows` rows along x. Bands of rows are transposed so that input columns become
// contiguous rows, the vertical kernel resamples them, and the result is transposed back.
void resample_horizontally(const uint8_t* src, int src_width, int rows, const AxisWeights& axis,
                           uint8_t* dst) {
  // 16 rows make a transposed row 48 bytes, whole AVX2 vectors; a band of a 4000-pixel-wide
  // photo (192 KB) stays in L2.
  constexpr int kBandRows = 16;
  const int dst_width = static_cast<int>(axis.first.size());
  const size_t src_row_bytes = static_cast<size_t>(src_width) * kChannels;
  const size_t dst_row_bytes = static_cast<size_t>(dst_width) * kChannels;
  std::vector<uint8_t> columns(src_width * kBandRows * kChannels);
  std::vector<uint8_t> resized_columns(dst_width * kBandRows * kChannels);
  std::vector<uint8_t> resized_band(dst_width * kBandRows * kChannels);
  for (int y = 0; y < rows; y += kBandRows) {
    const int band_rows = std::min(kBandRows, rows - y);
    transpose_pixels(src + y * src_row_bytes, src_width, band_rows, columns.data());
    resample_rows(columns.data(), static_cast<size_t>(band_rows) * kChannels, 0, axis,
                  resized_columns.data());
    transpose_pixels(resized_columns.data(), band_rows, dst_width, dst + y * dst_row_bytes);
  }
}

// Pillow 13 runs the vertical pass first when the height loses more than twice as many pixels as
// the width does (python-pillow/Pillow#9549). Each pass rounds to bytes, so the order shows in
// the output.
bool pillow_resizes_vertically_first(const Rgb8Image& src, int width, int height) {
  const int rows_removed = src.height - height;
  return rows_removed > 0 && rows_removed > 2 * (src.width - width);
}

}  // namespace

Rgb8Image resize_like_pillow(const Rgb8Image& src, int width, int height) {
  assert(src.width > 0 && src.height > 0 && width > 0 && height > 0);
  assert(src.pixels.size() == static_cast<size_t>(src.width) * src.height * kChannels);
  // Pillow returns a copy when the size does not change, and skips the pass of an axis whose
  // length does not change.
  if (width == src.width && height == src.height) return src;

  Rgb8Image resized{width, height,
                    std::vector<uint8_t>(static_cast<size_t>(width) * height * kChannels)};
  const size_t src_row_bytes = static_cast<size_t>(src.width) * kChannels;
  const size_t row_bytes = static_cast<size_t>(width) * kChannels;
  if (width == src.width) {
    resample_rows(src.pixels.data(), row_bytes, 0, *axis_weights(src.height, height),
                  resized.pixels.data());
    return resized;
  }
  const auto horizontal = axis_weights(src.width, width);
  if (height == src.height) {
    resample_horizontally(src.pixels.data(), src.width, height, *horizontal, resized.pixels.data());
    return resized;
  }

  const auto vertical = axis_weights(src.height, height);
  if (pillow_resizes_vertically_first(src, width, height)) {
    std::vector<uint8_t> columns_resized(src_row_bytes * height);
    resample_rows(src.pixels.data(), src_row_bytes, 0, *vertical, columns_resized.data());
    resample_horizontally(columns_resized.data(), src.width, height, *horizontal,
                          resized.pixels.data());
    return resized;
  }
  // The horizontal pass only produces the input rows that some output row reads.
  const int first_row = vertical->first.front();
  const int end_row = vertical->first.back() + vertical->count.back();
  std::vector<uint8_t> rows_resized(row_bytes * (end_row - first_row));
  resample_horizontally(src.pixels.data() + first_row * src_row_bytes, src.width,
                        end_row - first_row, *horizontal, rows_resized.data());
  resample_rows(rows_resized.data(), row_bytes, first_row, *vertical, resized.pixels.data());
  return resized;
}

}  // namespace pomona
