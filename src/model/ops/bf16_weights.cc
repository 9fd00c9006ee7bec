#include "ops/bf16_weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace pomona::model {
namespace {

// bf16 is the upper 16 bits of a float: sign, exponent and 7 stored mantissa bits.
uint32_t bits_of(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float float_of(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// A value's two bf16 neighbours: the one nearer zero (its upper 16 bits) and the next one
// away from zero; equal when the value is already bf16.
struct Neighbours {
  float toward_zero;
  float away_from_zero;
};

Neighbours bf16_neighbours(float value) {
  const uint32_t truncated = bits_of(value) & 0xffff0000u;
  if (truncated == bits_of(value)) return {value, value};
  return {float_of(truncated), float_of(truncated + 0x10000u)};
}

// One value's rounding: the nearer neighbour, and the other one as the alternative.
struct Rounding {
  size_t index;
  float nearest;
  float other;
  double extra_error;  // how much further the other neighbour lies from the value
};

}  // namespace

void round_to_bf16_keeping_channel_sums(std::vector<float>& kernel, size_t out_channels) {
  if (out_channels == 0 || kernel.size() % out_channels != 0) {
    throw std::invalid_argument(
        "round_to_bf16_keeping_channel_sums: " + std::to_string(kernel.size()) +
        " values are not " + std::to_string(out_channels) + " channels");
  }
  std::vector<Rounding> roundings;
  for (size_t channel = 0; channel < out_channels; ++channel) {
    roundings.clear();
    double sum_error = 0;  // the channel's float sum minus its rounded sum
    for (size_t i = channel; i < kernel.size(); i += out_channels) {
      const float value = kernel[i];
      const Neighbours neighbours = bf16_neighbours(value);
      if (!std::isfinite(value) || neighbours.toward_zero == neighbours.away_from_zero) continue;
      const double below = std::fabs(double{value} - neighbours.toward_zero);
      const double above = std::fabs(double{neighbours.away_from_zero} - value);
      Rounding rounding =
          below <= above
              ? Rounding{i, neighbours.toward_zero, neighbours.away_from_zero, above - below}
              : Rounding{i, neighbours.away_from_zero, neighbours.toward_zero, below - above};
      // The next value away from zero overflows to infinity past bf16's largest.
      if (!std::isfinite(rounding.other)) rounding.other = rounding.nearest;
      sum_error += double{value} - rounding.nearest;
      kernel[i] = rounding.nearest;
      roundings.push_back(rounding);
    }
    // Cheapest flips first: each is kept only when it brings the channel's sum closer.
    std::stable_sort(roundings.begin(), roundings.end(), [](const Rounding& a, const Rounding& b) {
      return a.extra_error < b.extra_error;
    });
    for (const Rounding& rounding : roundings) {
      const double flipped = sum_error + double{rounding.nearest} - rounding.other;
      if (std::fabs(flipped) < std::fabs(sum_error)) {
        sum_error = flipped;
        kernel[rounding.index] = rounding.other;
      }
    }
  }
}

}  // namespace pomona::model
