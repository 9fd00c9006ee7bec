// The resize loops written once over a vector type V (see resize_avx2.cc, resize_avx512.cc),
// which supplies V::kLanes 32-bit lanes and:
//   Vec load_bytes(const uint8_t* p)       kLanes bytes at p, zero-extended to 32 bits
//   Vec load(const int32_t* p)             kLanes 32-bit lanes
//   Vec broadcast(int32_t value)
//   Vec add(Vec a, Vec b)
//   Vec multiply_add(Vec sum, Vec a, Vec b)  sum + a * b, lane by lane, wrapping like int32
//   Vec sum_pixels(Vec sums)               lanes 0..2 += the other pixels' lanes (3 per pixel)
//   void store_clipped(Vec sums, uint8_t* out)  kLanes bytes: clip8(sum >> kPrecisionBits)
// Include it after `#pragma GCC target(...)`, so that the loops take the vector instructions.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "resize_kernels.h"

namespace pomona::image_internal::simd {

// `spans` vectors of output bytes [0, spans * kLanes) from `taps` input rows row_bytes apart.
template <class V, int spans>
[[gnu::always_inline]] inline void resample_spans(const uint8_t* in, size_t row_bytes,
                                                  const int32_t* weights, int taps, uint8_t* out) {
  typename V::Vec sums[spans];
  for (int s = 0; s < spans; ++s) sums[s] = V::broadcast(kRoundingHalf);
  for (int t = 0; t < taps; ++t) {
    const typename V::Vec weight = V::broadcast(weights[t]);
    const uint8_t* row = in + t * row_bytes;
    for (int s = 0; s < spans; ++s) {
      sums[s] = V::multiply_add(sums[s], V::load_bytes(row + s * V::kLanes), weight);
    }
  }
  for (int s = 0; s < spans; ++s) V::store_clipped(sums[s], out + s * V::kLanes);
}

// Every byte of a row shares the weight of its row, so the lanes run along the rows.
template <class V>
void resample_rows(const uint8_t* src, size_t row_bytes, int first_src_row, const AxisWeights& axis,
                   uint8_t* dst) {
  constexpr size_t kLanes = V::kLanes;
  constexpr int kSpans = 4;  // independent sums hide the multiply latency
  if (row_bytes < kLanes) {
    scalar_kernels().resample_rows(src, row_bytes, first_src_row, axis, dst);
    return;
  }
  const int dst_rows = static_cast<int>(axis.first.size());
  for (int y = 0; y < dst_rows; ++y) {
    const int32_t* weights = &axis.weights[static_cast<size_t>(y) * axis.stride];
    const int taps = axis.count[y];
    const uint8_t* in = src + (axis.first[y] - first_src_row) * row_bytes;
    uint8_t* out = dst + y * row_bytes;
    size_t i = 0;
    for (; i + kSpans * kLanes <= row_bytes; i += kSpans * kLanes) {
      resample_spans<V, kSpans>(in + i, row_bytes, weights, taps, out + i);
    }
    for (; i + kLanes <= row_bytes; i += kLanes) {
      resample_spans<V, 1>(in + i, row_bytes, weights, taps, out + i);
    }
    // The last bytes: one more vector ending at the row's end, rewriting some bytes identically.
    if (i < row_bytes) {
      const size_t last = row_bytes - kLanes;
      resample_spans<V, 1>(in + last, row_bytes, weights, taps, out + last);
    }
  }
}

// Output pixel x of `rows` rows rows_bytes apart, from the row bytes at `in`.
template <class V, int rows>
[[gnu::always_inline]] inline void resample_pixel(const uint8_t* in, size_t row_bytes,
                                                  const AxisWeights& axis, int x, uint8_t* out,
                                                  size_t out_row_bytes) {
  constexpr size_t kLanes = V::kLanes;
  const size_t taps_bytes = static_cast<size_t>(axis.taps_per_vector) * kChannels;
  const int32_t* weights = &axis.lane_weights[static_cast<size_t>(axis.group_start[x]) * kLanes];
  typename V::Vec sums[rows];
  for (int r = 0; r < rows; ++r) sums[r] = V::broadcast(0);
  for (int g = 0; g < axis.groups[x]; ++g) {
    const typename V::Vec weight = V::load(weights + g * kLanes);
    for (int r = 0; r < rows; ++r) {
      sums[r] =
          V::multiply_add(sums[r], V::load_bytes(in + r * row_bytes + g * taps_bytes), weight);
    }
  }
  for (int r = 0; r < rows; ++r) {
    uint8_t pixel[kLanes];
    V::store_clipped(V::add(V::sum_pixels(sums[r]), V::broadcast(kRoundingHalf)), pixel);
    std::memcpy(out + r * out_row_bytes, pixel, kChannels);
  }
}

// Along a row the weight changes every pixel, so a vector holds a few whole pixels' worth of
// taps (AxisWeights::lane_weights) and its lanes are summed per channel at the end. Rows go
// four at a time, sharing the weights' loads.
template <class V>
void resample_columns(const uint8_t* src, int src_width, int rows, const AxisWeights& axis,
                      uint8_t* dst) {
  constexpr int kRowsAtOnce = 4;
  const int dst_width = static_cast<int>(axis.first.size());
  const size_t src_row_bytes = static_cast<size_t>(src_width) * kChannels;
  const size_t dst_row_bytes = static_cast<size_t>(dst_width) * kChannels;
  const auto row_at = [&](int y) { return src + y * src_row_bytes; };
  const auto out_at = [&](int y, int x) { return dst + y * dst_row_bytes + x * kChannels; };
  // Reads past a row land in the rows below it, with zero weights, except near the end: the last
  // rows whose reads would pass the end of src (several when a row is shorter than the overread,
  // e.g. 1 pixel wide) go one at a time from a zero-padded copy.
  const int tail_rows = static_cast<int>(
      std::min<size_t>(rows, (axis.overread_bytes + src_row_bytes - 1) / src_row_bytes));
  const int direct_rows = rows - tail_rows;
  int y = 0;
  for (; y + kRowsAtOnce <= direct_rows; y += kRowsAtOnce) {
    for (int x = 0; x < dst_width; ++x) {
      resample_pixel<V, kRowsAtOnce>(row_at(y) + axis.first[x] * kChannels, src_row_bytes, axis, x,
                                     out_at(y, x), dst_row_bytes);
    }
  }
  const auto resample_row = [&](const uint8_t* row, int out_y) {
    for (int x = 0; x < dst_width; ++x) {
      resample_pixel<V, 1>(row + axis.first[x] * kChannels, src_row_bytes, axis, x,
                           out_at(out_y, x), dst_row_bytes);
    }
  };
  for (; y < direct_rows; ++y) resample_row(row_at(y), y);
  if (tail_rows > 0) {
    std::vector<uint8_t> padded_tail(tail_rows * src_row_bytes + axis.overread_bytes, 0);
    std::memcpy(padded_tail.data(), row_at(direct_rows), tail_rows * src_row_bytes);
    for (int t = 0; t < tail_rows; ++t) {
      resample_row(padded_tail.data() + t * src_row_bytes, direct_rows + t);
    }
  }
}

template <class V>
const ResizeKernels& kernels() {
  static const ResizeKernels kernels{resample_rows<V>, resample_columns<V>, V::kLanes / kChannels,
                                     V::kLanes};
  return kernels;
}

}  // namespace pomona::image_internal::simd
