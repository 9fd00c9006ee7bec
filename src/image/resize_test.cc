// resize_like_pillow against Pillow 13's Image.resize outputs written by
// tools/make_resize_fixtures.py (ctest runs it first, into POMONA_RESIZE_FIXTURES_DIR).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "pomona/image.h"
#include "resize_kernels.h"

namespace pomona {
namespace {

struct Size {
  int width;
  int height;
};

std::string size_name(Size size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

std::vector<uint8_t> read_fixture(const std::string& name) {
  const std::string path = std::string(POMONA_RESIZE_FIXTURES_DIR) + "/" + name;
  std::ifstream file(path, std::ios::binary);
  if (!file) ADD_FAILURE() << "missing fixture " << path << ": run tools/make_resize_fixtures.py";
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

Rgb8Image fixture_source(Size size) {
  return {size.width, size.height, read_fixture("source_" + size_name(size) + ".rgb")};
}

std::vector<uint8_t> pillow_resized(Size from, Size to) {
  return read_fixture("pillow_" + size_name(from) + "_to_" + size_name(to) + ".rgb");
}

// Counts differing bytes (a missing byte counts as differing) so that a failure says how wrong,
// not just that it is.
int count_differences(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int differences = std::abs(static_cast<int>(a.size()) - static_cast<int>(b.size()));
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) differences += a[i] != b[i];
  return differences;
}

struct ResizeCase {
  const char* name;
  Size from;
  Size to;
};

// Keep in step with RESIZES in tools/make_resize_fixtures.py.
const ResizeCase kCases[] = {
    {"ShrinkByNonIntegerFactor", {300, 200}, {123, 77}},
    {"Enlarge", {50, 40}, {131, 97}},
    {"TallToWide", {64, 200}, {200, 64}},
    {"WideToTall", {200, 64}, {64, 200}},
    {"OnePixelSource", {1, 1}, {224, 224}},
    {"OnePixelTarget", {100, 100}, {1, 1}},
    {"OddSourceToOnePixel", {37, 91}, {1, 1}},
    {"Fruits100To224", {100, 100}, {224, 224}},
    {"Photo4000x3000To224", {4000, 3000}, {224, 224}},
    {"OddSizesTo224", {37, 91}, {224, 224}},
    {"OneLargerThan224", {225, 223}, {224, 224}},
    {"ExtremelyWide", {10000, 10}, {224, 224}},
    {"ExtremelyTall", {10, 10000}, {224, 224}},
    {"IdentitySize", {100, 100}, {100, 100}},
    {"OnlyWidthGrows", {100, 80}, {224, 80}},
    {"OnlyHeightGrows", {100, 80}, {100, 224}},
    {"OnlyWidthShrinks", {300, 50}, {224, 50}},
    {"OnlyHeightShrinks", {50, 300}, {50, 224}},
    // Pillow picks the pass order from the pixels each axis loses; both orders round differently.
    {"HeightLosesTwiceWidthLossResizesHorizontallyFirst", {100, 120}, {90, 100}},
    {"HeightLosesMoreThanTwiceWidthLossResizesVerticallyFirst", {100, 121}, {90, 100}},
    {"Photo4032x3024To224", {4032, 3024}, {224, 224}},
    {"OnePixelTallTo224", {5000, 1}, {224, 224}},
    {"OnePixelWideTo224", {1, 5000}, {224, 224}},
    {"RowsNarrowerThanAVector", {2, 300}, {2, 224}},
    {"RowsOfAVectorAndABit", {3, 300}, {3, 100}},
    {"TinyShrink", {7, 3}, {5, 2}},
    {"ShrinkWidthEnlargeHeight", {17, 9}, {8, 33}},
    {"OddSizesTallTo224", {333, 1001}, {224, 224}},
    {"OddSizesWideTo224", {1001, 333}, {224, 224}},
};

void PrintTo(const ResizeCase& c, std::ostream* os) {
  *os << size_name(c.from) << " -> " << size_name(c.to);
}

using image_internal::available_resize_isas;
using image_internal::isa_name;
using image_internal::resize_like_pillow_on;
using image_internal::ResizeIsa;

// Every case runs on every instruction set this CPU has (scalar, AVX2, AVX-512).
class ResizeLikePillow : public testing::TestWithParam<std::tuple<ResizeCase, ResizeIsa>> {};

TEST_P(ResizeLikePillow, MatchesPillowByteForByte) {
  const auto& [c, isa] = GetParam();
  const Rgb8Image source = fixture_source(c.from);
  const std::vector<uint8_t> expected = pillow_resized(c.from, c.to);

  const Rgb8Image resized = resize_like_pillow_on(isa, source, c.to.width, c.to.height);

  EXPECT_EQ(resized.width, c.to.width);
  EXPECT_EQ(resized.height, c.to.height);
  ASSERT_EQ(resized.pixels.size(), expected.size());
  EXPECT_EQ(count_differences(resized.pixels, expected), 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResizeLikePillow,
                         testing::Combine(testing::ValuesIn(kCases),
                                          testing::ValuesIn(available_resize_isas())),
                         [](const testing::TestParamInfo<std::tuple<ResizeCase, ResizeIsa>>& info) {
                           return std::string(std::get<0>(info.param).name) + "_" +
                                  isa_name(std::get<1>(info.param));
                         });

TEST(ResizeLikePillowSweep, RandomSizesMatchPillowByteForByte) {
  // Sizes from 1 to 129 pixels each way cover every mix of shrinking, enlarging and keeping an
  // axis, and both pass orders.
  std::ifstream sweep(std::string(POMONA_RESIZE_FIXTURES_DIR) + "/resize_sweep.txt");
  ASSERT_TRUE(sweep) << "missing resize_sweep.txt: run tools/make_resize_fixtures.py";
  int cases = 0;
  Size from, to;
  while (sweep >> from.width >> from.height >> to.width >> to.height) {
    for (const ResizeIsa isa : available_resize_isas()) {
      const Rgb8Image resized =
          resize_like_pillow_on(isa, fixture_source(from), to.width, to.height);
      EXPECT_EQ(count_differences(resized.pixels, pillow_resized(from, to)), 0)
          << size_name(from) << " -> " << size_name(to) << " on " << isa_name(isa);
    }
    ++cases;
  }
  EXPECT_GE(cases, 80);
}

TEST(ResizeLikePillowCache, ConcurrentResizesOfNewSizesAllMatchPillow) {
  // Each thread asks for the weights of sizes not cached yet, racing on the shared cache.
  const Size from{37, 91};
  const Rgb8Image source = fixture_source(from);
  const std::vector<uint8_t> expected = pillow_resized(from, {224, 224});
  std::vector<Rgb8Image> results(8);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&] { result = resize_like_pillow(source, 224, 224); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(count_differences(result.pixels, expected), 0);
}

TEST(ResizeLikePillowUniform, UniformImageStaysUniformWhenShrinkingAndEnlarging) {
  // The normalised weights of every output pixel sum to one in fixed point, up to rounding that
  // the half-unit offset absorbs.
  const Rgb8Image grey{40, 30, std::vector<uint8_t>(40 * 30 * 3, 77)};
  for (const Size to : {Size{7, 5}, Size{224, 224}, Size{40, 301}}) {
    const Rgb8Image resized = resize_like_pillow(grey, to.width, to.height);
    EXPECT_EQ(resized.pixels, std::vector<uint8_t>(to.width * to.height * 3, 77)) << size_name(to);
  }
}

TEST(ResizeIsas, AvailableAreScalarThenWhatTheCpuSupports) {
  std::vector<ResizeIsa> expected{ResizeIsa::kScalar};
  if (__builtin_cpu_supports("avx2")) expected.push_back(ResizeIsa::kAvx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
    expected.push_back(ResizeIsa::kAvx512);
  }
  EXPECT_EQ(available_resize_isas(), expected);
}

TEST(ResizeIsas, DefaultIsTheWidestAvailableUnlessForced) {
  const char* forced = std::getenv("POMONA_IMAGE_ISA");
  if (forced != nullptr && *forced != '\0') {
    EXPECT_STREQ(isa_name(image_internal::default_resize_isa()), forced);
  } else {
    EXPECT_EQ(image_internal::default_resize_isa(), available_resize_isas().back());
  }
}

}  // namespace
}  // namespace pomona
