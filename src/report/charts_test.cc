#include "charts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "count_for_tests.h"

namespace pomona::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The vertices of the polyline with the given class.
int polyline_vertices(const std::string& svg, const std::string& css_class) {
  std::smatch match;
  const std::regex pattern("<polyline class=\"" + css_class + "\"[^>]* points=\"([^\"]*)\"");
  if (!std::regex_search(svg, match, pattern)) return -1;
  return count_occurrences(match[1].str(), ",");
}

TEST(ScreeSvg, HasOneVertexPerComponentInBothCurves) {
  const std::vector<double> ratio = {0.5, 0.25, 0.125, 0.0625, 0.0625};
  const std::string svg = scree_svg(ratio, 3, 0.95);
  EXPECT_EQ(polyline_vertices(svg, "ratio"), 5);
  EXPECT_EQ(polyline_vertices(svg, "cumulative"), 5);
  EXPECT_THAT(svg, HasSubstr("viewBox=\"0 0 560 320\""));
}

TEST(ScreeSvg, MarksTheChosenKWithItsCumulativeVariance) {
  const std::vector<double> ratio = {0.5, 0.25, 0.125, 0.0625, 0.0625};
  const std::string svg = scree_svg(ratio, 3, 0.95);
  EXPECT_THAT(svg, HasSubstr("<g class=\"k-marker\">"));
  EXPECT_THAT(svg, HasSubstr(">k = 3 (87.5%)</text>"));
  EXPECT_THAT(svg, HasSubstr(">95.0% of variance</text>"));
  // The plot spans y 14 (100%) to 272 (0%): the level line sits at 95%.
  EXPECT_THAT(svg, HasSubstr("<g class=\"level\"><line x1=\"56\" y1=\"26.9\" x2=\"544\" "
                             "y2=\"26.9\"/><text x=\"62\" y=\"21.9\""));
}

TEST(ScreeSvg, LabelsTheLogAxisWithPowersOfTen) {
  const std::vector<double> ratio(1280, 1.0 / 1280);
  const std::string svg = scree_svg(ratio, 1216, 0.95);
  for (const char* tick : {">1</text>", ">10</text>", ">100</text>", ">1000</text>"}) {
    EXPECT_THAT(svg, HasSubstr(tick));
  }
  EXPECT_EQ(polyline_vertices(svg, "ratio"), 1280);
}

TEST(ScatterSvg, DrawsOneMarkerPerPointGroupedByLabel) {
  std::vector<ScatterPoint> points;
  for (int i = 0; i < 30; ++i) points.push_back({float(i), float(i % 7), i % 3 == 0 ? 0 : 2});
  const std::string svg = scatter_svg(points, 3, "PC1", "PC2");
  EXPECT_EQ(count_occurrences(svg, "<circle"), 30);
  EXPECT_EQ(count_occurrences(svg, "<g class=\"points\""), 2);  // label 1 has no point
  EXPECT_THAT(svg, HasSubstr("data-label=\"0\" fill=\"#e6194b\""));
  EXPECT_THAT(svg, HasSubstr("data-label=\"2\" fill=\"#4363d8\""));
  EXPECT_THAT(svg, Not(HasSubstr("data-label=\"1\"")));
}

// The markup of the points group of one label.
std::string group_of(const std::string& svg, int label) {
  const size_t begin = svg.find("data-label=\"" + std::to_string(label) + "\"");
  if (begin == std::string::npos) return "";
  return svg.substr(begin, svg.find("</g>", begin) - begin);
}

TEST(ScatterSvg, UsesShapesOnceColoursRepeat) {
  const std::vector<ScatterPoint> points = {{0, 0, 0}, {1, 1, 20}, {2, 0, 40}, {3, 1, 60}};
  const std::string svg = scatter_svg(points, 61, "PC1", "PC2");
  EXPECT_THAT(group_of(svg, 0), HasSubstr("fill=\"#e6194b\"><circle "));
  EXPECT_THAT(group_of(svg, 20), HasSubstr("fill=\"#e6194b\"><rect "));
  EXPECT_THAT(group_of(svg, 40), HasSubstr("fill=\"#e6194b\"><path "));
  EXPECT_EQ(count_occurrences(group_of(svg, 40), "L") + count_occurrences(group_of(svg, 40), "H"),
            2);  // triangle
  EXPECT_THAT(group_of(svg, 60), HasSubstr("fill=\"#e6194b\"><path "));
  EXPECT_EQ(count_occurrences(group_of(svg, 60), "L"), 3);  // diamond
}

TEST(ScatterSvg, KeepsEveryPointInsideThePlotArea) {
  const std::vector<ScatterPoint> points = {{-1000, 5, 0}, {1000, -5, 0}, {0, 0, 0}};
  const std::string svg = scatter_svg(points, 1, "PC1", "PC2");
  const std::regex circle("<circle cx=\"([-0-9.]+)\" cy=\"([-0-9.]+)\"");
  int seen = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), circle), end; it != end; ++it, ++seen) {
    const double x = std::stod((*it)[1].str()), y = std::stod((*it)[2].str());
    EXPECT_GT(x, 56);
    EXPECT_LT(x, 548);
    EXPECT_GT(y, 12);
    EXPECT_LT(y, 396);
  }
  EXPECT_EQ(seen, 3);
}

TEST(ScatterSvg, EscapesAxisTitles) {
  const std::string svg = scatter_svg({}, 0, "PC1 <b>", "PC2 & more");
  EXPECT_THAT(svg, HasSubstr("PC1 &lt;b&gt;"));
  EXPECT_THAT(svg, HasSubstr("PC2 &amp; more"));
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
}

}  // namespace
}  // namespace pomona::report
