// The inner loops of resize_like_pillow, one set per instruction set, and the weights they read.
// Internal to pomona_image; resize.cc picks a set at run time. Every set computes Pillow's
// fixed-point sums exactly: 32-bit integer accumulators starting at half a unit, weights with
// kPrecisionBits fractional bits, the sum shifted down and clipped to a byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pomona/image.h"

namespace pomona::image_internal {

inline constexpr int kChannels = 3;

// Pillow keeps 8 bits for the result and 2 for overshoot of the filter's negative lobes.
inline constexpr int kPrecisionBits = 32 - 8 - 2;
inline constexpr int32_t kRoundingHalf = 1 << (kPrecisionBits - 1);

// The weights that map one axis of in_size samples onto out_size samples. Output sample i reads
// input samples [first[i], first[i] + count[i]) with weights[i * stride + t], in fixed point.
//
// For the SIMD horizontal pass the weights are also laid out per vector: a vector of
// lanes_per_vector 32-bit lanes holds taps_per_vector whole RGB pixels (3 lanes each, spare
// lanes zero), so output pixel i takes groups[i] vectors from lane_weights at
// group_start[i] * lanes_per_vector. Loading a vector's bytes at pixel first[i] + g *
// taps_per_vector reads up to overread_bytes past the end of the row.
struct AxisWeights {
  int stride = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;

  int taps_per_vector = 0;
  int lanes_per_vector = 0;
  std::vector<int> group_start;
  std::vector<int> groups;
  std::vector<int32_t> lane_weights;
  size_t overread_bytes = 0;
};

// One instruction set's loops.
struct ResizeKernels {
  // Weighted sums of whole rows: output row y of dst (row_bytes wide) is the clipped sum over t
  // of weights[y][t] times input row first[y] - first_src_row + t of src.
  void (*resample_rows)(const uint8_t* src, size_t row_bytes, int first_src_row,
                        const AxisWeights& axis, uint8_t* dst);
  // Resamples `rows` rows of src_width pixels along x into rows of axis.first.size() pixels.
  // Reads up to axis.overread_bytes past the last pixel of each row: the caller pads the last.
  void (*resample_columns)(const uint8_t* src, int src_width, int rows, const AxisWeights& axis,
                           uint8_t* dst);
  // The vector layout resample_columns expects in AxisWeights (0 when it reads none).
  int taps_per_vector;
  int lanes_per_vector;
};

enum class ResizeIsa { kScalar, kAvx2, kAvx512 };

const char* isa_name(ResizeIsa isa);

// The instruction sets this CPU runs, scalar first.
std::vector<ResizeIsa> available_resize_isas();

// The set resize_like_pillow uses: the widest available, unless POMONA_IMAGE_ISA names another
// (scalar, avx2 or avx512; one the CPU lacks is refused with a JobError).
ResizeIsa default_resize_isa();

// resize_like_pillow on a given instruction set, which the CPU must support.
Rgb8Image resize_like_pillow_on(ResizeIsa isa, const Rgb8Image& src, int width, int height);

const ResizeKernels& scalar_kernels();
const ResizeKernels& avx2_kernels();    // requires AVX2
const ResizeKernels& avx512_kernels();  // requires AVX512F and AVX512BW

}  // namespace pomona::image_internal
