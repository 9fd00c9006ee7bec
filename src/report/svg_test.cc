#include "svg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace pomona::report {
namespace {

using ::testing::ElementsAre;

TEST(EscapeHtml, ReplacesEveryMarkupCharacter) {
  EXPECT_EQ(escape_html("<script>alert('x & \"y\"')</script>"),
            "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;");
}

TEST(EscapeHtml, LeavesUtf8AndPlainTextAlone) {
  EXPECT_EQ(escape_html("Äpfel/pomme 🍎 (1).jpg"), "Äpfel/pomme 🍎 (1).jpg");
}

TEST(NiceTicks, StepsByOneTwoOrFiveTimesAPowerOfTenAsDecimalsPrintThem) {
  EXPECT_THAT(nice_ticks(0, 1, 5), ElementsAre(0, 0.2, 0.4, 0.6, 0.8, 1));
  EXPECT_THAT(nice_ticks(-3.7, 12.2, 6), ElementsAre(-2, 0, 2, 4, 6, 8, 10, 12));
  EXPECT_THAT(nice_ticks(0.0013, 0.0042, 3), ElementsAre(0.002, 0.003, 0.004));
  EXPECT_THAT(nice_ticks(120, 980, 4), ElementsAre(200, 400, 600, 800));
}

TEST(NiceTicks, StayInsideTheRangeAndKeepBoundsThatAreTicks) {
  for (double tick : nice_ticks(-0.37, 0.91, 6)) {
    EXPECT_GE(tick, -0.37);
    EXPECT_LE(tick, 0.91);
  }
  EXPECT_THAT(nice_ticks(-1, 1, 2), ElementsAre(-1, 0, 1));
}

TEST(NiceTicks, HandlesReversedDegenerateAndNonFiniteRanges) {
  EXPECT_THAT(nice_ticks(10, 0, 2), ElementsAre(0, 5, 10));
  EXPECT_THAT(nice_ticks(3.5, 3.5, 5), ElementsAre(3.5));
  EXPECT_TRUE(nice_ticks(0, std::numeric_limits<double>::infinity(), 5).empty());
}

TEST(Log10Ticks, ArePowersOfTenInsideTheRange) {
  EXPECT_THAT(log10_ticks(1, 1280), ElementsAre(1, 10, 100, 1000));
  EXPECT_THAT(log10_ticks(1, 1000), ElementsAre(1, 10, 100, 1000));
  EXPECT_THAT(log10_ticks(2, 9), ElementsAre());
}

TEST(FormatTick, UsesTheDecimalsOfTheStepAndNoNegativeZero) {
  EXPECT_EQ(format_tick(0.15, 0.05), "0.15");
  EXPECT_EQ(format_tick(12, 2), "12");
  EXPECT_EQ(format_tick(2.5, 0.5), "2.5");
  EXPECT_EQ(format_tick(-0.0000001, 0.1), "0.0");
  EXPECT_EQ(format_tick(-0.2, 0.1), "-0.2");
}

TEST(FormatCoordinate, KeepsAtMostTwoDecimals) {
  EXPECT_EQ(format_coordinate(12.3456), "12.35");
  EXPECT_EQ(format_coordinate(7.5), "7.5");
  EXPECT_EQ(format_coordinate(40), "40");
  EXPECT_EQ(format_coordinate(-0.001), "0");
}

TEST(Scales, MapDomainOntoRangeIncludingReversedRanges) {
  const LinearScale y(0, 1, 300, 20);  // SVG's y grows downwards
  EXPECT_DOUBLE_EQ(y(0), 300);
  EXPECT_DOUBLE_EQ(y(1), 20);
  EXPECT_DOUBLE_EQ(y(0.25), 230);
  EXPECT_DOUBLE_EQ(LinearScale(5, 5, 0, 100)(5), 50);  // degenerate domain: the middle
  const Log10Scale x(1, 1000, 0, 300);
  EXPECT_DOUBLE_EQ(x(10), 100);
  EXPECT_DOUBLE_EQ(x(100), 200);
}

TEST(CategoryStyle, TwentyDistinctColoursThenTheSameColoursWithANewShape) {
  std::set<std::string> colours;
  for (int i = 0; i < kCategoryColours; ++i) {
    colours.insert(category_style(i).colour);
    EXPECT_EQ(category_style(i).shape, 0);
  }
  EXPECT_EQ(colours.size(), static_cast<size_t>(kCategoryColours));
  EXPECT_EQ(category_style(20).colour, category_style(0).colour);
  EXPECT_EQ(category_style(20).shape, 1);
  EXPECT_EQ(category_style(45).shape, 2);
  EXPECT_EQ(category_style(79).shape, 3);
}

TEST(MarkerSvg, DrawsOneElementPerShapeAroundTheCentre) {
  EXPECT_EQ(marker_svg(0, 10, 20, 2.5), "<circle cx=\"10\" cy=\"20\" r=\"2.5\"/>");
  EXPECT_EQ(marker_svg(1, 10, 20, 2.5), "<rect x=\"7.5\" y=\"17.5\" width=\"5\" height=\"5\"/>");
  EXPECT_EQ(marker_svg(2, 10, 20, 2.5), "<path d=\"M10 17L12.75 22.25H7.25Z\"/>");
  EXPECT_EQ(marker_svg(3, 10, 20, 2.5), "<path d=\"M10 16.75L13.25 20L10 23.25L6.75 20Z\"/>");
}

}  // namespace
}  // namespace pomona::report
