#include "metrics.h"

#include <cstdio>

namespace pomona::serving {
namespace {

constexpr const char* kStageNames[] = {"queue", "decode", "network", "classify", "total"};

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

}  // namespace

void Metrics::count_request(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::observe(Stage stage, double seconds) {
  std::lock_guard lock(mutex_);
  Histogram& h = stages_[static_cast<int>(stage)];
  for (size_t b = 0; b < kBuckets.size(); ++b) h.buckets[b] += seconds <= kBuckets[b];
  ++h.count;
  h.sum += seconds;
}

void Metrics::count_reload(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

void Metrics::count_shed(const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++shed_[reason];
}

void Metrics::set_wait(double budget_seconds, double per_job_seconds) {
  std::lock_guard lock(mutex_);
  wait_budget_seconds_ = budget_seconds;
  per_job_seconds_ = per_job_seconds;
}

void Metrics::set_index_version(const std::string& version) {
  std::lock_guard lock(mutex_);
  index_version_ = version;
}

void Metrics::set_queue(int64_t depth, int64_t capacity) {
  std::lock_guard lock(mutex_);
  queue_depth_ = depth;
  queue_capacity_ = capacity;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out =
      "# HELP pomona_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE pomona_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += "pomona_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  out +=
      "# HELP pomona_stage_seconds Time per stage of POST /v1/classify (total: from the "
      "request's arrival to its answer; queue: waiting for a network).\n"
      "# TYPE pomona_stage_seconds histogram\n";
  for (size_t s = 0; s < stages_.size(); ++s) {
    const Histogram& h = stages_[s];
    const std::string stage = std::string("stage=\"") + kStageNames[s] + "\"";
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      out += "pomona_stage_seconds_bucket{" + stage + ",le=\"" + number(kBuckets[b]) + "\"} " +
             std::to_string(h.buckets[b]) + "\n";
    }
    out +=
        "pomona_stage_seconds_bucket{" + stage + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "pomona_stage_seconds_sum{" + stage + "} " + number(h.sum) + "\n";
    out += "pomona_stage_seconds_count{" + stage + "} " + std::to_string(h.count) + "\n";
  }
  out +=
      "# HELP pomona_shed_total POST /v1/classify answered 503 for load, by reason (full: no queue "
      "place; over_budget: the expected wait exceeded the budget; overdue: waited past it; "
      "timeout: "
      "the request time limit).\n"
      "# TYPE pomona_shed_total counter\n";
  for (const char* reason : {"full", "over_budget", "overdue", "timeout"}) {
    const auto counted = shed_.find(reason);
    out += std::string("pomona_shed_total{reason=\"") + reason + "\"} " +
           std::to_string(counted == shed_.end() ? 0 : counted->second) + "\n";
  }
  out +=
      "# HELP pomona_wait_budget_seconds The longest an answered request may wait for a network.\n"
      "# TYPE pomona_wait_budget_seconds gauge\npomona_wait_budget_seconds " +
      number(wait_budget_seconds_) +
      "\n# HELP pomona_job_seconds_estimate A worker's recent time per job (admission's "
      "estimate).\n"
      "# TYPE pomona_job_seconds_estimate gauge\npomona_job_seconds_estimate " +
      number(per_job_seconds_) + "\n";
  out +=
      "# HELP pomona_queue_depth Requests waiting for a network.\n"
      "# TYPE pomona_queue_depth gauge\npomona_queue_depth " +
      std::to_string(queue_depth_) +
      "\n# HELP pomona_queue_capacity Places in the queue; a request finding none gets 503.\n"
      "# TYPE pomona_queue_capacity gauge\npomona_queue_capacity " +
      std::to_string(queue_capacity_) +
      "\n# HELP pomona_index_info The index being served (version = hash of its file).\n"
      "# TYPE pomona_index_info gauge\npomona_index_info{version=\"" +
      index_version_ +
      "\"} 1\n# HELP pomona_index_reloads_total SIGHUP reloads, by result.\n"
      "# TYPE pomona_index_reloads_total counter\n"
      "pomona_index_reloads_total{result=\"ok\"} " +
      std::to_string(reloads_ok_) + "\npomona_index_reloads_total{result=\"failed\"} " +
      std::to_string(reloads_failed_) + "\n";
  return out;
}

}  // namespace pomona::serving
