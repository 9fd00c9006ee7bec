#include "html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "count_for_tests.h"

namespace pomona::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Three labels (one only with errors), 250 error rows of which 100 are listed, a 3-component PCA.
ReportData sample_data() {
  ReportData data;
  data.features_path = "/data/<features>.parquet";
  data.pca_source = "fitted from these features";
  data.dim = 4;
  data.rows = 1250;
  data.errors = 250;
  data.labels = {{"apple", 600, 0}, {"<img src=x onerror=alert(1)>", 400, 0}, {"broken", 250, 250}};
  for (int i = 0; i < 100; ++i) {
    data.listed_errors.push_back(
        {"/data/broken/" + std::to_string(i) + "&.jpg", "truncated <JPEG>"});
  }
  data.explained_variance_ratio = {0.6, 0.3, 0.08, 0.02};
  data.k = 3;
  for (int i = 0; i < 40; ++i) data.scatter.push_back({float(i), float(-i), i % 2});
  data.scatter_population = 1000;
  data.max_scatter_points = 40;
  data.neighbours.rows = 40;
  data.neighbours.matches = 30;
  data.neighbours.chance_matches = 19.5;
  data.neighbours.rows_per_label = {20, 20, 0};
  data.neighbours.matches_per_label = {16, 14, 0};
  data.neighbour_dims = 3;
  data.neighbour_population = 1000;
  return data;
}

TEST(RenderReportHtml, EscapesEveryStringFromTheData) {
  const std::string html = render_report_html(sample_data());
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<features>")));
  EXPECT_THAT(html, Not(HasSubstr("<JPEG>")));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, HasSubstr("/data/broken/7&amp;.jpg"));
  EXPECT_THAT(html, HasSubstr("<title>Pomona report: /data/&lt;features&gt;.parquet</title>"));
}

TEST(RenderReportHtml, IsSelfContainedWithoutScript) {
  const std::string html = render_report_html(sample_data());
  EXPECT_EQ(count_occurrences(html, "<script"), 0);
  EXPECT_EQ(count_occurrences(html, "<link"), 0);
  EXPECT_EQ(count_occurrences(html, " src=\""), 0);
  EXPECT_EQ(count_occurrences(html, " href=\""), 0);
  EXPECT_EQ(count_occurrences(html, "url("), 0);
  // The only URL is the SVG namespace, which browsers never fetch.
  EXPECT_EQ(count_occurrences(html, "http"),
            count_occurrences(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(html, HasSubstr("<meta name=\"viewport\""));
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr("@media (max-width:600px)"));
}

TEST(RenderReportHtml, ShowsCountsAndTheFirstErrors) {
  const std::string html = render_report_html(sample_data());
  EXPECT_THAT(html, HasSubstr("<dt>rows</dt><dd>1,250</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>error rows</dt><dd>250</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>labels</dt><dd>3</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>PCA components k</dt><dd>3 (98.0%)</dd>"));
  EXPECT_THAT(html, HasSubstr("The first 100 of 250 error rows"));
  EXPECT_EQ(count_occurrences(html, "<tr><td>/data/broken/"), 100);
}

TEST(RenderReportHtml, HasOneLegendEntryPerLabelWithGoodRows) {
  const std::string html = render_report_html(sample_data());
  const size_t legend = html.find("<ul class=\"legend\">");
  ASSERT_NE(legend, std::string::npos);
  const std::string entries = html.substr(legend, html.find("</ul>", legend) - legend);
  EXPECT_EQ(count_occurrences(entries, "<li>"), 2);  // "broken" has only error rows
  EXPECT_THAT(entries, Not(HasSubstr("broken")));
}

TEST(RenderReportHtml, SaysWhenTheScatterAndTheNeighboursAreSamples) {
  const std::string html = render_report_html(sample_data());
  EXPECT_THAT(html, HasSubstr("A sample of 40 of the 1,000 good rows (at most 40"));
  EXPECT_THAT(html, HasSubstr("Computed on a sample of 40 of the 1,000 good rows"));
  EXPECT_THAT(html, HasSubstr("has the same label in 75.0% of cases"));
  EXPECT_THAT(html, HasSubstr("would agree in 48.8%"));
  EXPECT_THAT(html, HasSubstr("80.0% of 20"));  // per-label agreement of "apple"
}

TEST(RenderReportHtml, StillRendersWithoutGoodRows) {
  ReportData data;
  data.features_path = "empty.parquet";
  data.rows = 2;
  data.errors = 2;
  data.labels = {{"a", 2, 2}};
  data.listed_errors = {{"a/1.jpg", "bad"}, {"a/2.jpg", "bad"}};
  const std::string html = render_report_html(data);
  EXPECT_THAT(html, HasSubstr("All 2 error rows"));
  EXPECT_THAT(html, HasSubstr("No PCA: fewer than two good rows."));
  EXPECT_THAT(html, Not(HasSubstr("<svg class=\"scatter\"")));
  EXPECT_THAT(html, Not(HasSubstr("<svg class=\"scree\"")));
}

}  // namespace
}  // namespace pomona::report
