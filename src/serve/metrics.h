// The server's Prometheus metrics: requests by route and status, latency histograms per stage,
// requests shed by reason, queue depth and wait budget, index version and reloads. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace pomona::serving {

enum class Stage { kQueue, kDecode, kNetwork, kClassify, kTotal };

class Metrics {
 public:
  // route: one of the server's routes or "other" (bounded label values).
  void count_request(const std::string& route, int status);
  void observe(Stage stage, double seconds);
  void count_reload(bool ok);
  // A POST /v1/classify answered 503 for load; reason: full, over_budget, overdue or timeout.
  void count_shed(const std::string& reason);
  // The queue's wait budget and its current estimate of a worker's time per job.
  void set_wait(double budget_seconds, double per_job_seconds);
  void set_index_version(const std::string& version);
  void set_queue(int64_t depth, int64_t capacity);

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  static constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10,   30};
  struct Histogram {
    std::array<int64_t, kBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::array<Histogram, 5> stages_;
  std::map<std::string, int64_t> shed_;
  double wait_budget_seconds_ = 0;
  double per_job_seconds_ = 0;
  int64_t reloads_ok_ = 0;
  int64_t reloads_failed_ = 0;
  std::string index_version_;
  int64_t queue_depth_ = 0;
  int64_t queue_capacity_ = 0;
};

}  // namespace pomona::serving
