#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mobilenet_v2.h"
#include "pomona/error.h"
#include "pomona/model.h"
#include "random_weights.h"

namespace pomona::model {
namespace {

std::vector<float> random_images(const MobileNetV2Spec& spec, int n, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> pixel(-1.0f, 1.0f);
  std::vector<float> images(static_cast<size_t>(n) * spec.size * spec.size * 3);
  for (float& value : images) value = pixel(generator);
  return images;
}

std::vector<float> extract(const FeatureExtractor& network, const std::vector<float>& images,
                           int n) {
  std::vector<float> features(static_cast<size_t>(n) * network.feature_dim());
  auto context = network.new_context();
  network.extract(*context, images.data(), n, features.data());
  return features;
}

// bf16 keeps 8 significant bits: its largest difference to Keras' features, relative to the
// largest feature, stays below this on the fixtures.
constexpr double kBf16RelativeDifference = 0.1;

// Largest difference relative to the largest feature, which is how float rounding shows.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double difference = 0, largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference = std::max(difference, std::abs(static_cast<double>(a[i]) - b[i]));
    largest = std::max(largest, std::abs(static_cast<double>(a[i])));
  }
  return difference / largest;
}

TEST(MobileNetV2Layers, ChannelCountsMatchKerasForEveryAlpha) {
  struct Expected {
    float alpha;
    int first, block0_out, last_block_out, features;
  };
  // What keras.applications.MobileNetV2(alpha=...) builds (Python evaluates int(16 * 1.3) = 20).
  for (const Expected& expected : {Expected{0.35f, 16, 8, 112, 1280},
                                   {0.5f, 16, 8, 160, 1280},
                                   {0.75f, 24, 16, 240, 1280},
                                   {1.0f, 32, 16, 320, 1280},
                                   {1.3f, 40, 24, 416, 1664},
                                   {1.4f, 48, 24, 448, 1792}}) {
    const auto layers = mobilenet_v2_layers({expected.alpha, 224});
    ASSERT_EQ(layers.size(), 52u);
    EXPECT_EQ(layers.front().out_channels, expected.first) << expected.alpha;
    EXPECT_EQ(layers[2].name, "expanded_conv_project");
    EXPECT_EQ(layers[2].out_channels, expected.block0_out) << expected.alpha;
    EXPECT_EQ(layers[50].name, "block_16_project");
    EXPECT_EQ(layers[50].out_channels, expected.last_block_out) << expected.alpha;
    EXPECT_EQ(layers.back().out_channels, expected.features) << expected.alpha;
  }
}

TEST(MobileNetV2Layers, ResidualAddsOnlyWhereStrideOneKeepsChannels) {
  std::vector<std::string> residual;
  for (const ConvLayerSpec& layer : mobilenet_v2_layers({1.0f, 224})) {
    if (layer.residual) residual.push_back(layer.name);
  }
  EXPECT_EQ(residual,
            (std::vector<std::string>{"block_2_project", "block_4_project", "block_5_project",
                                      "block_7_project", "block_8_project", "block_9_project",
                                      "block_11_project", "block_12_project", "block_14_project",
                                      "block_15_project"}));
}

TEST(MobileNetV2Layers, RejectsAlphaKerasDoesNotPublish) {
  EXPECT_THROW(mobilenet_v2_layers({0.6f, 224}), JobError);
}

// bf16 where this CPU runs it natively; a test of it skips elsewhere, saying why.
#define SKIP_WITHOUT_NATIVE_BF16() \
  if (!cpu_has_native_bf16())      \
  GTEST_SKIP() << "this CPU has no native bf16 (AVX512-BF16 or AMX) as oneDNN sees it"

void expect_no_reference_primitives(const MobileNetV2Spec& spec, Precision precision) {
  const auto network =
      FeatureExtractor::create(random_mobilenet_v2_weights(spec, 1), spec, 4, precision);
  const auto& mobilenet = static_cast<const MobileNetV2Network&>(*network);
  for (int batch : {1, 4}) {
    const std::vector<std::string> implementations = mobilenet.primitive_implementations(batch);
    // 52 convolutions and the pooling, less one step per expand fused with its depthwise.
    const auto fused =
        std::count_if(implementations.begin(), implementations.end(),
                      [](const std::string& step) { return step.find('+') != std::string::npos; });
    EXPECT_GE(implementations.size() + fused, 53u);
    for (const std::string& implementation : implementations) {
      // ref: implementations are oneDNN's slow, unvectorised fallbacks.
      EXPECT_EQ(implementation.find(": ref"), std::string::npos)
          << implementation << " (batch " << batch << ", alpha " << spec.alpha << ", "
          << precision_name(precision) << ")";
    }
  }
}

TEST(FeatureExtractor, RunsNoReferencePrimitiveAtAlpha1) {
  expect_no_reference_primitives({1.0f, 224}, Precision::kFp32);
}

TEST(FeatureExtractor, RunsNoReferencePrimitiveAtAlpha035) {
  expect_no_reference_primitives({0.35f, 96}, Precision::kFp32);
}

TEST(FeatureExtractor, RunsNoReferencePrimitiveInBf16AtAlpha1) {
  SKIP_WITHOUT_NATIVE_BF16();
  expect_no_reference_primitives({1.0f, 224}, Precision::kBf16);
}

TEST(FeatureExtractor, RunsNoReferencePrimitiveInBf16AtAlpha035) {
  SKIP_WITHOUT_NATIVE_BF16();
  expect_no_reference_primitives({0.35f, 96}, Precision::kBf16);
}

TEST(FeatureExtractor, Bf16RunsTheBlocksUpToBlock6InFp32AndEveryLaterConvolutionInBf16) {
  SKIP_WITHOUT_NATIVE_BF16();
  const MobileNetV2Spec spec{0.35f, 96};
  const auto network =
      FeatureExtractor::create(random_mobilenet_v2_weights(spec, 1), spec, 1, Precision::kBf16);
  EXPECT_EQ(network->precision(), Precision::kBf16);
  bool in_stem = true;
  int bf16_convolutions = 0;
  for (const std::string& implementation :
       static_cast<const MobileNetV2Network&>(*network).primitive_implementations(1)) {
    const bool bf16 = implementation.find("bf16") != std::string::npos;
    if (in_stem) {
      EXPECT_FALSE(bf16) << implementation;
    }
    if (implementation.starts_with("block_6_project: ")) in_stem = false;
    if (bf16) ++bf16_convolutions;
  }
  // 52 convolutions, 21 of them up to block_6_project (conversions and pooling have no "bf16").
  EXPECT_EQ(bf16_convolutions, 31);
}

// Where oneDNN fuses an expand with its depthwise (blocks 1-3 at 1.0/224 on a 1 MiB L2, AVX-512),
// the step is named after both layers; either way every layer runs exactly once.
TEST(FeatureExtractor, RunsEveryLayerOnceWhetherFusedOrNot) {
  const MobileNetV2Spec spec{1.0f, 224};
  const auto network =
      FeatureExtractor::create(random_mobilenet_v2_weights(spec, 1), spec, 1, Precision::kFp32);
  const std::vector<ConvLayerSpec> layers = mobilenet_v2_layers(spec);
  std::vector<std::string> ran;
  for (const std::string& implementation :
       static_cast<const MobileNetV2Network&>(*network).primitive_implementations(1)) {
    const std::string step = implementation.substr(0, implementation.find(": "));
    if (const size_t plus = step.find('+'); plus != std::string::npos) {
      EXPECT_TRUE(step.substr(0, plus).ends_with("_expand")) << step;
      EXPECT_NE(implementation.find(": jit_1x1"), std::string::npos) << implementation;
      ran.push_back(step.substr(0, plus));
      ran.push_back(step.substr(plus + 1));
    } else if (step != "input" && step != "features" && step != "global_average_pooling2d" &&
               (ran.empty() || ran.back() != step)) {
      ran.push_back(step);  // a conversion into a layer is named after it, as the layer is
    }
  }
  std::vector<std::string> names;
  for (const ConvLayerSpec& layer : layers) names.push_back(layer.name);
  EXPECT_EQ(ran, names);
}

TEST(FeatureExtractor, FeatureDimIsLastConvolutionWidth) {
  const MobileNetV2Spec spec{1.4f, 96};
  const auto network = FeatureExtractor::create(random_mobilenet_v2_weights(spec, 1), spec, 1);
  EXPECT_EQ(network->feature_dim(), 1792);
  const std::vector<float> features = extract(*network, random_images(spec, 1, 2), 1);
  EXPECT_GT(*std::max_element(features.begin(), features.end()), 0.0f);
}

TEST(FeatureExtractor, FeaturesDoNotDependOnBatchSize) {
  const MobileNetV2Spec spec{0.35f, 96};
  const auto network = FeatureExtractor::create(random_mobilenet_v2_weights(spec, 3), spec, 8);
  const std::vector<float> images = random_images(spec, 8, 4);
  const std::vector<float> batched = extract(*network, images, 8);

  const size_t image_floats = static_cast<size_t>(spec.size) * spec.size * 3;
  std::vector<float> one_by_one;
  for (int i = 0; i < 8; ++i) {
    const std::vector<float> image(images.begin() + i * image_floats,
                                   images.begin() + (i + 1) * image_floats);
    const std::vector<float> features = extract(*network, image, 1);
    one_by_one.insert(one_by_one.end(), features.begin(), features.end());
  }
  EXPECT_LT(relative_difference(batched, one_by_one), 1e-5);
  // Different images give different features (the comparison above is not vacuous).
  EXPECT_GT(relative_difference(
                std::vector<float>(batched.begin(), batched.begin() + network->feature_dim()),
                std::vector<float>(batched.begin() + network->feature_dim(),
                                   batched.begin() + 2 * network->feature_dim())),
            1e-2);
}

TEST(FeatureExtractor, FeaturesDoNotDependOnThreadCount) {
  const MobileNetV2Spec spec{0.5f, 128};
  const auto network = FeatureExtractor::create(random_mobilenet_v2_weights(spec, 5), spec, 4);
  const std::vector<float> images = random_images(spec, 4, 6);

  set_compute_threads(1);
  const std::vector<float> single = extract(*network, images, 4);
  set_compute_threads(2);
  const std::vector<float> two = extract(*network, images, 4);
  EXPECT_LT(relative_difference(single, two), 1e-5);

  // Two threads, each with its own Context, running the same network at once.
  std::vector<float> concurrent[2];
  std::vector<std::thread> threads;
  for (auto& features : concurrent) {
    threads.emplace_back([&] {
      set_compute_threads(1);
      for (int repeat = 0; repeat < 3; ++repeat) features = extract(*network, images, 4);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LT(relative_difference(single, concurrent[0]), 1e-5);
  EXPECT_LT(relative_difference(single, concurrent[1]), 1e-5);
}

TEST(FeatureExtractor, RejectsWeightsOfAnotherAlphaNamingLayerAndShapes) {
  KerasWeights weights = random_mobilenet_v2_weights({0.35f, 224}, 7);
  try {
    FeatureExtractor::create(weights, {1.0f, 224}, 1);
    FAIL() << "weights for alpha 0.35 accepted for alpha 1.0";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kConfiguration);
    const std::string message = error.what();
    EXPECT_NE(message.find("'Conv1'"), std::string::npos) << message;
    EXPECT_NE(message.find("(3, 3, 3, 16)"), std::string::npos) << message;
    EXPECT_NE(message.find("(3, 3, 3, 32)"), std::string::npos) << message;
  }
}

TEST(FeatureExtractor, RejectsBatchNormOfWrongWidth) {
  const MobileNetV2Spec spec{1.0f, 224};
  KerasWeights weights = random_mobilenet_v2_weights(spec, 8);
  weights.mutable_layers()["block_5_project_BN"][3].shape = {33};
  try {
    FeatureExtractor::create(weights, spec, 1);
    FAIL() << "accepted a 33-wide batch norm";
  } catch (const JobError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'block_5_project_BN' has shape (33), MobileNetV2 alpha 1 size 224 "
                           "needs (32)"),
              std::string::npos)
        << message;
  }
}

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Reads a little-endian float32, C-order .npy file (numpy's format, versions 1 to 3).
NpyArray read_npy(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  char magic[8];
  file.read(magic, sizeof magic);
  uint32_t header_size = 0;
  file.read(reinterpret_cast<char*>(&header_size), magic[6] == 1 ? 2 : 4);
  std::string header(header_size, ' ');
  file.read(header.data(), header_size);
  if (header.find("'descr': '<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(path + ": not a C-order float32 array: " + header);
  }
  NpyArray array;
  const size_t open = header.find('(', header.find("'shape'"));
  std::string dims = header.substr(open + 1, header.find(')', open) - open - 1);
  int64_t count = 1;
  for (size_t at = 0; at < dims.size();) {
    const size_t comma = std::min(dims.find(',', at), dims.size());
    if (comma > at) count *= array.shape.emplace_back(std::stoll(dims.substr(at, comma - at)));
    at = comma + 1;
  }
  array.values.resize(count);
  file.read(reinterpret_cast<char*>(array.values.data()), count * sizeof(float));
  if (!file) throw std::runtime_error(path + ": truncated");
  return array;
}

// The network on the notebook's inputs for the Keras fixture images (tools/make_network_inputs.py)
// with the seeded test weights (tools/make_test_weights.py) against what Keras computed from the
// same weights (tools/keras_reference.py), image by image, batched as the pipeline batches.
// fp32: equal to Keras within float error. bf16: worst cosine 0.999 (README "Precision").
void expect_keras_features(const MobileNetV2Spec& spec, const std::string& name,
                           Precision precision) {
  const KerasWeights weights = KerasWeights::load(std::string(POMONA_TEST_WEIGHTS_DIR) +
                                                  "/models/" + keras_weights_file_name(spec, true));
  const NpyArray inputs = read_npy(std::string(POMONA_NETWORK_INPUTS_DIR) + "/inputs_" +
                                   std::to_string(spec.size) + ".npy");
  const NpyArray keras =
      read_npy(std::string(POMONA_SOURCE_DIR) + "/tests/fixtures/keras/features_" + name + ".npy");
  constexpr int kMaxBatch = 8;
  const auto network = FeatureExtractor::create(weights, spec, kMaxBatch, precision);
  const int images = static_cast<int>(inputs.shape[0]);
  const int dim = network->feature_dim();
  ASSERT_EQ(keras.shape, (std::vector<int64_t>{images, dim}));

  std::vector<float> features(keras.values.size());
  auto context = network->new_context();
  const size_t image_floats = static_cast<size_t>(spec.size) * spec.size * 3;
  for (int first = 0; first < images; first += kMaxBatch) {
    network->extract(*context, inputs.values.data() + first * image_floats,
                     std::min(kMaxBatch, images - first), features.data() + first * dim);
  }
  for (int i = 0; i < images; ++i) {
    double difference = 0, largest = 0, dot = 0, ours_norm = 0, keras_norm = 0;
    for (int j = 0; j < dim; ++j) {
      const double ours = features[i * dim + j], theirs = keras.values[i * dim + j];
      difference = std::max(difference, std::abs(ours - theirs));
      largest = std::max(largest, std::abs(theirs));
      dot += ours * theirs;
      ours_norm += ours * ours;
      keras_norm += theirs * theirs;
    }
    const bool fp32 = precision == Precision::kFp32;
    EXPECT_LE(difference, (fp32 ? 1e-4 : kBf16RelativeDifference) * largest) << "image " << i;
    EXPECT_GE(dot / std::sqrt(ours_norm * keras_norm), fp32 ? 0.99999 : 0.999) << "image " << i;
  }
}

TEST(FeatureExtractor, MatchesKerasAtAlpha1Size224) {
  expect_keras_features({1.0f, 224}, "1.0_224", Precision::kFp32);
}

TEST(FeatureExtractor, MatchesKerasAtAlpha035Size96) {
  expect_keras_features({0.35f, 96}, "0.35_96", Precision::kFp32);
}

TEST(FeatureExtractor, Bf16StaysWithinCosine0999OfKerasAtAlpha1Size224) {
  SKIP_WITHOUT_NATIVE_BF16();
  expect_keras_features({1.0f, 224}, "1.0_224", Precision::kBf16);
}

TEST(FeatureExtractor, Bf16StaysWithinCosine0999OfKerasAtAlpha035Size96) {
  SKIP_WITHOUT_NATIVE_BF16();
  expect_keras_features({0.35f, 96}, "0.35_96", Precision::kBf16);
}

}  // namespace
}  // namespace pomona::model
