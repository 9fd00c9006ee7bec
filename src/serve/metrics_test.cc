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

TEST(Metrics, shed_requests_are_counted_by_reason_every_reason_listed) {
  Metrics metrics;
  metrics.count_shed("over_budget");
  metrics.count_shed("over_budget");
  metrics.count_shed("overdue");
  metrics.set_wait(0.008, 0.0095);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("pomona_shed_total{reason=\"full\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_shed_total{reason=\"over_budget\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_shed_total{reason=\"overdue\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_shed_total{reason=\"timeout\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_wait_budget_seconds 0.008\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_job_seconds_estimate 0.0095\n"), std::string::npos);
  EXPECT_NE(text.find("pomona_stage_seconds_count{stage=\"queue\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace pomona::serving
