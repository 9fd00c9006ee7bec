#include "metrics.h"

#include <gtest/gtest.h>

namespace pomona::serving {
namespace {

TEST(Metrics, histogram_buckets_are_cumulative_and_requests_counted_by_route_and_status) {
  Metrics metrics;
  metrics.observe(Stage::kNetwork, 0.004);
  metrics.observe(Stage::kNetwork, 0.02);
  metrics.count_request("/v1/classify", 200);
  metrics.count_request("/v1/classify", 200);
  metrics.count_request("/v1/classify", 503);
  metrics.set_index_version("abc");
  metrics.set_queue(3, 4);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("pomona_stage_seconds_bucket{stage=\"network\",le=\"0.0025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("pomona_stage_seconds_bucket{stage=\"network\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("pomona_stage_seconds_bucket{stage=\"network\",le=\"0.025\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("pomona_stage_seconds_count{stage=\"network\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_requests_total{route=\"/v1/classify\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("pomona_requests_total{route=\"/v1/classify\",status=\"503\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("pomona_index_info{version=\"abc\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_queue_depth 3\n"), std::string::npos);
}

}  // namespace
}  // namespace pomona::serving
