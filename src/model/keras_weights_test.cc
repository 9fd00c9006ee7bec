// KerasWeights::load against files tools/make_test_weights.py generates (fixture
// keras_test_weights), whose summaries say what every array holds.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"
#include "weights_sandbox.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;

const fs::path kWeightsDir = POMONA_TEST_WEIGHTS_DIR;
const fs::path kLegacySmall =
    kWeightsDir / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5";
const fs::path kLegacyFull =
    kWeightsDir / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5";
const fs::path kKeras3Small = kWeightsDir / "mobilenet_v2_0.35_96.weights.h5";
const fs::path kEdgeCases = kWeightsDir / "edge_cases";

// One line of a generator summary: an array (index >= 0) or a layer without weights.
struct ExpectedArray {
  std::string layer;
  int index = -1;
  std::string weight;
  std::vector<int64_t> shape;
  double sum = 0, first = 0, last = 0;
};

std::vector<ExpectedArray> read_summary(const fs::path& weights_file) {
  std::ifstream in(weights_file.string() + ".summary");
  EXPECT_TRUE(in) << "missing summary of " << weights_file;
  std::vector<ExpectedArray> expected;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    ExpectedArray array;
    std::string shape;
    fields >> array.layer;
    if (fields >> array.index >> array.weight >> shape >> array.sum >> array.first >> array.last) {
      std::istringstream dims(shape);
      for (std::string dim; std::getline(dims, dim, 'x');) array.shape.push_back(std::stoll(dim));
    }
    expected.push_back(array);
  }
  return expected;
}

// Every layer the generator wrote, and nothing else, with each array's shape and values.
void expect_matches_summary(const fs::path& file) {
  KerasWeights weights = KerasWeights::load(file.string());
  const std::vector<ExpectedArray> expected = read_summary(file);
  size_t layers = 0;
  for (const ExpectedArray& array : expected) {
    ASSERT_TRUE(weights.has(array.layer)) << array.layer;
    const std::vector<WeightTensor>& tensors = weights.layer(array.layer);
    if (array.index < 0) {
      EXPECT_TRUE(tensors.empty()) << array.layer;
      ++layers;
      continue;
    }
    layers += array.index == 0;
    ASSERT_LT(array.index, static_cast<int>(tensors.size())) << array.layer;
    const WeightTensor& tensor = tensors[array.index];
    EXPECT_EQ(tensor.shape, array.shape) << array.layer << " " << array.weight;
    ASSERT_FALSE(tensor.values.empty());
    EXPECT_EQ(tensor.values.front(), array.first) << array.layer << " " << array.weight;
    EXPECT_EQ(tensor.values.back(), array.last) << array.layer << " " << array.weight;
    const double sum = std::accumulate(tensor.values.begin(), tensor.values.end(), 0.0);
    EXPECT_NEAR(sum, array.sum, 1e-9 * (1 + std::abs(array.sum)))
        << array.layer << " " << array.weight;
  }
  EXPECT_EQ(weights.mutable_layers().size(), layers);
}

TEST(KerasWeights, LoadsLegacyFileAsTfKerasWritesIt) {
  expect_matches_summary(kLegacySmall);
  const KerasWeights weights = KerasWeights::load(kLegacySmall.string());
  EXPECT_EQ(weights.source(), kLegacySmall.string());
  // Layers come in Keras' weight order, with Keras' shapes (HWIO kernels).
  const auto& bn = weights.layer("block_1_expand_BN");
  ASSERT_EQ(bn.size(), 4u);
  EXPECT_EQ(bn[3].shape, std::vector<int64_t>{48});
  EXPECT_EQ(weights.layer("block_1_depthwise")[0].shape, (std::vector<int64_t>{3, 3, 48, 1}));
  EXPECT_EQ(weights.layer("predictions")[0].shape, (std::vector<int64_t>{1280, 1000}));
}

TEST(KerasWeights, LoadsFullSizeLegacyFile) { expect_matches_summary(kLegacyFull); }

TEST(KerasWeights, LoadsKeras3WeightsFileByLayerName) {
  expect_matches_summary(kKeras3Small);
  const KerasWeights keras3 = KerasWeights::load(kKeras3Small.string());
  const KerasWeights legacy = KerasWeights::load(kLegacySmall.string());
  // Same seed, same arrays: only the container differs.
  EXPECT_EQ(keras3.layer("Conv_1_bn")[2].values, legacy.layer("Conv_1_bn")[2].values);
  EXPECT_EQ(keras3.layer("block_16_project")[0].values, legacy.layer("block_16_project")[0].values);
}

TEST(KerasWeights, ReadsFixedLengthNamesAsInPublishedFiles) {
  const KerasWeights weights = KerasWeights::load((kEdgeCases / "fixed_length_names.h5").string());
  EXPECT_TRUE(weights.layer("input_1").empty());
  const auto& conv = weights.layer("conv");
  ASSERT_EQ(conv.size(), 2u);
  EXPECT_EQ(conv[0].shape, (std::vector<int64_t>{2, 2, 1, 3}));
  std::vector<float> kernel(12);
  for (int i = 0; i < 12; ++i) kernel[i] = i / 8.0f;
  EXPECT_EQ(conv[0].values, kernel);
  EXPECT_EQ(conv[1].values, (std::vector<float>{0.5f, -0.5f, 2.0f}));
}

TEST(KerasWeights, ReadsWholeModelFileAndConvertsFloat16AndFloat64) {
  const KerasWeights weights =
      KerasWeights::load((kEdgeCases / "full_model_mixed_precision.h5").string());
  const auto& conv = weights.layer("conv");
  ASSERT_EQ(conv.size(), 2u);
  // Multiples of 1/8 below 2 are exact in float16.
  std::vector<float> kernel(12);
  for (int i = 0; i < 12; ++i) kernel[i] = i / 8.0f;
  EXPECT_EQ(conv[0].values, kernel);
  EXPECT_EQ(conv[1].values, (std::vector<float>{0.5f, -0.5f, 2.0f}));
}

// The one-line message load() throws for path.
std::string load_error(const fs::path& path) {
  try {
    KerasWeights::load(path.string());
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfiguration);
    return e.what();
  }
  ADD_FAILURE() << "loaded " << path;
  return "";
}

class KerasWeightsErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("keras_weights_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(KerasWeightsErrors, MissingFileSaysSo) {
  const fs::path path = dir_ / "absent.h5";
  EXPECT_EQ(load_error(path), "weights file " + path.string() +
                                  " does not exist: give the path of a Keras MobileNetV2 "
                                  "weights .h5 file");
}

TEST_F(KerasWeightsErrors, NonHdf5FileSaysSo) {
  const fs::path path = dir_ / "page.h5";
  std::ofstream(path) << "<html>404 Not Found</html>\n";
  EXPECT_EQ(load_error(path), "weights file " + path.string() +
                                  " is not an HDF5 file: give a Keras weights .h5 file (as "
                                  "save_weights writes)");
}

TEST_F(KerasWeightsErrors, TruncatedFileSaysSo) {
  // The first half of a real file: HDF5's signature is there, the data it points to is not.
  const fs::path path = dir_ / "half.h5";
  fs::copy_file(kLegacySmall, path);
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_EQ(load_error(path), "weights file " + path.string() +
                                  " is truncated or damaged: download or save the weights again");
}

TEST_F(KerasWeightsErrors, HdfFileWithoutKerasLayoutSaysSo) {
  const fs::path path = kEdgeCases / "no_layer_names.h5";
  EXPECT_EQ(load_error(path), "weights file " + path.string() +
                                  " is HDF5 but not Keras weights (no layer_names attribute and "
                                  "no layers group): give a file written by Keras save_weights");
}

// Files the weights fuzzer found on which Debian's HDF5 1.10.8 itself crashes or loops forever
// (H5HG_read on a damaged global heap, reached by reading a variable-length string attribute).
const fs::path kFuzzReproducers =
    fs::path(POMONA_SOURCE_DIR) / "tests" / "fixtures" / "fuzz" / "weights_fuzzer";

TEST(KerasWeightsSandbox, HdfCrashOnDamagedGlobalHeapIsADamagedFileError) {
  const fs::path path = kFuzzReproducers / "hdf5_h5hg_read_segv.h5";
  EXPECT_EQ(load_error(path),
            "weights file " + path.string() +
                " is damaged (HDF5 crashed reading it): download or save the weights again");
}

std::vector<uint8_t> bytes_of(const fs::path& path) {
  Result<std::vector<uint8_t>> bytes = read_bytes(path.string());
  EXPECT_TRUE(bytes.ok()) << bytes.error();
  return bytes.ok() ? std::move(bytes.value()) : std::vector<uint8_t>();
}

// The child is killed after the timeout; load() allows 60 s, which a test need not wait for.
std::string load_error_in_child(const fs::path& path, const SandboxLimits& limits) {
  try {
    read_keras_layers_in_child(bytes_of(path), path.string(), limits);
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfiguration);
    return e.what();
  }
  ADD_FAILURE() << "loaded " << path;
  return "";
}

TEST(KerasWeightsSandbox, HdfEndlessLoopOnDamagedGlobalHeapIsADamagedFileError) {
  const fs::path path = kFuzzReproducers / "hdf5_h5hg_loop.h5";
  SandboxLimits limits;
  limits.timeout = std::chrono::milliseconds(1500);
  EXPECT_EQ(load_error_in_child(path, limits),
            "weights file " + path.string() +
                " is damaged (HDF5 was still reading it after 1.5 s): download or save the "
                "weights again");
}

TEST(KerasWeightsSandbox, ChildThatRunsOutOfAddressSpaceIsADamagedFileError) {
  // The full-size file holds 14 MB of arrays; 4 MB more than the parent's address space is
  // not enough to read them.
  SandboxLimits limits;
  limits.extra_address_space_bytes = 4 << 20;
  EXPECT_EQ(load_error_in_child(kLegacyFull, limits),
            "weights file " + kLegacyFull.string() +
                " is damaged (reading it needs more memory than Keras weights do): download or "
                "save the weights again");
}

TEST(KerasWeightsSandbox, ChildSendsBackExactlyWhatHdfReads) {
  const std::vector<uint8_t> file = bytes_of(kKeras3Small);
  const KerasLayers in_process = read_keras_layers(file, kKeras3Small.string());
  const KerasLayers from_child = read_keras_layers_in_child(file, kKeras3Small.string(), {});
  ASSERT_EQ(from_child.size(), in_process.size());
  for (const auto& [name, tensors] : in_process) {
    ASSERT_TRUE(from_child.count(name)) << name;
    const std::vector<WeightTensor>& received = from_child.at(name);
    ASSERT_EQ(received.size(), tensors.size()) << name;
    for (size_t i = 0; i < tensors.size(); ++i) {
      EXPECT_EQ(received[i].shape, tensors[i].shape) << name << " " << i;
      EXPECT_EQ(received[i].values, tensors[i].values) << name << " " << i;
    }
  }
}

TEST(KerasWeightsSandbox, ArraysLargerThanAnyKerasModelAreRefusedBeforeAllocating) {
  const fs::path path = kEdgeCases / "huge_declared_array.h5";
  EXPECT_EQ(load_error(path), "weights file " + path.string() +
                                  " is truncated or damaged: download or save the weights again");
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// tests/fixtures/keras/features_*.npy were computed by Keras with these weights: a generator
// (or numpy) that drifted would make every comparison with them meaningless.
TEST(KerasWeights, GeneratorWritesTheWeightsTheReferenceFeaturesCameFrom) {
  const fs::path fixtures = fs::path(POMONA_SOURCE_DIR) / "tests" / "fixtures" / "keras";
  EXPECT_EQ(read_all(kLegacyFull.string() + ".summary"),
            read_all(fixtures / "weights_1.0_224.summary"));
  EXPECT_EQ(read_all(kLegacySmall.string() + ".summary"),
            read_all(fixtures / "weights_0.35_96.summary"));
}

TEST(KerasWeights, AbsentLayerIsAConfigurationErrorNamingIt) {
  const KerasWeights weights = KerasWeights::load(kLegacySmall.string());
  EXPECT_FALSE(weights.has("block_17_expand"));
  try {
    weights.layer("block_17_expand");
    FAIL() << "no error";
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfiguration);
    EXPECT_EQ(std::string(e.what()), "weights file " + kLegacySmall.string() +
                                         " has no layer block_17_expand: give weights of a "
                                         "Keras MobileNetV2 model");
  }
}

TEST(KerasWeights, Sha256IsTheHashOfTheBytesItLoaded) {
  const KerasWeights weights = KerasWeights::load(kLegacySmall.string());
  EXPECT_EQ(weights.sha256(), weights_sha256(kLegacySmall.string()));
  EXPECT_EQ(weights.sha256().size(), 64u);
}

}  // namespace
}  // namespace pomona
