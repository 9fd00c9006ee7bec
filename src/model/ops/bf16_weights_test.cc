#include "ops/bf16_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

namespace pomona::model {
namespace {

bool is_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits & 0xffffu) == 0;
}

// Round to nearest even, as oneDNN converts float to bf16.
float nearest_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  float rounded;
  std::memcpy(&rounded, &bits, sizeof rounded);
  return rounded;
}

// A depthwise 3x3 kernel of 144 channels, (h, w, channels, 1), He-uniform as Keras initialises.
std::vector<float> depthwise_kernel(unsigned seed) {
  std::mt19937 generator(seed);
  const float bound = std::sqrt(6.0f / 9);
  std::uniform_real_distribution<float> uniform(-bound, bound);
  std::vector<float> kernel(3 * 3 * 144);
  for (float& value : kernel) value = uniform(generator);
  return kernel;
}

double channel_sum(const std::vector<float>& kernel, size_t channels, size_t channel) {
  double sum = 0;
  for (size_t i = channel; i < kernel.size(); i += channels) sum += kernel[i];
  return sum;
}

TEST(Bf16Weights, EveryValueBecomesOneOfItsTwoNearestBf16Values) {
  const std::vector<float> original = depthwise_kernel(1);
  std::vector<float> rounded = original;
  round_to_bf16_keeping_channel_sums(rounded, 144);
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_TRUE(is_bf16(rounded[i])) << i;
    // bf16 keeps 8 significant bits: its neighbours lie within 2^-7 of the value, relatively.
    EXPECT_LT(std::fabs(rounded[i] - original[i]), std::ldexp(std::fabs(original[i]), -7)) << i;
    EXPECT_EQ(std::signbit(rounded[i]), std::signbit(original[i])) << i;
  }
}

TEST(Bf16Weights, ChannelSumsStayFarCloserToFloatThanRoundingToNearestKeepsThem) {
  const std::vector<float> original = depthwise_kernel(2);
  std::vector<float> rounded = original;
  round_to_bf16_keeping_channel_sums(rounded, 144);
  double ours = 0, nearest = 0;
  for (size_t channel = 0; channel < 144; ++channel) {
    const double sum = channel_sum(original, 144, channel);
    ours += std::fabs(channel_sum(rounded, 144, channel) - sum);
    double nearest_sum = 0;
    for (size_t i = channel; i < original.size(); i += 144)
      nearest_sum += nearest_bf16(original[i]);
    nearest += std::fabs(nearest_sum - sum);
    // Rounding to nearest is among the choices, so no channel can end further from its sum.
    EXPECT_LE(std::fabs(channel_sum(rounded, 144, channel) - sum),
              std::fabs(nearest_sum - sum) + 1e-12)
        << channel;
  }
  EXPECT_LT(ours, nearest / 4);
}

TEST(Bf16Weights, LeavesBf16AndNonFiniteValuesAsTheyAre) {
  std::vector<float> kernel = {1.0f, -0.5f, 0.0f,  std::numeric_limits<float>::infinity(),
                               3.0f, 0.25f, -2.0f, std::numeric_limits<float>::quiet_NaN()};
  round_to_bf16_keeping_channel_sums(kernel, 2);
  EXPECT_EQ(kernel[0], 1.0f);
  EXPECT_EQ(kernel[1], -0.5f);
  EXPECT_EQ(kernel[2], 0.0f);
  EXPECT_TRUE(std::isinf(kernel[3]));
  EXPECT_EQ(kernel[4], 3.0f);
  EXPECT_EQ(kernel[6], -2.0f);
  EXPECT_TRUE(std::isnan(kernel[7]));
}

TEST(Bf16Weights, RefusesAKernelThatIsNotWholeChannels) {
  std::vector<float> kernel(10, 0.1f);
  EXPECT_THROW(round_to_bf16_keeping_channel_sums(kernel, 3), std::invalid_argument);
}

}  // namespace
}  // namespace pomona::model
