#include "work_queue.h"

#include <algorithm>

#include "pomona/condition_wait.h"

namespace pomona::serving {

WorkQueue::WorkQueue(size_t capacity, int networks, Clock::duration max_wait,
                     Clock::duration per_job)
    : capacity_(capacity),
      networks_(std::max(1, networks)),
      max_wait_(max_wait),
      per_job_(per_job) {}

Admission WorkQueue::try_push(std::shared_ptr<Job> job, Clock::time_point now,
                              Clock::duration* expected_wait) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Admission::kClosed;
    if (jobs_.size() >= capacity_) return Admission::kFull;
    const Clock::duration wait = expected_wait_locked();
    if (expected_wait) *expected_wait = wait;
    if (wait > max_wait_) return Admission::kOverBudget;
    job->queued_at = now;
    job->queued_behind = static_cast<int64_t>(jobs_.size()) + busy_ >= networks_;
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
  return Admission::kAdmitted;
}

std::shared_ptr<Job> WorkQueue::pop() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
  if (jobs_.empty()) return nullptr;
  auto job = std::move(jobs_.front());
  jobs_.pop_front();
  ++busy_;
  return job;
}

bool WorkQueue::overdue(const Job& job, Clock::time_point now) const {
  return job.queued_behind && now - job.queued_at > max_wait_;
}

void WorkQueue::finish(std::optional<Clock::duration> worked) {
  std::lock_guard lock(mutex_);
  --busy_;
  if (worked) per_job_ += (*worked - per_job_) / 8;
}

void WorkQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

Clock::duration WorkQueue::expected_wait_locked() const {
  const int64_t ahead = static_cast<int64_t>(jobs_.size()) + busy_ - networks_;
  if (ahead < 0) return Clock::duration::zero();
  return (ahead + 1) * per_job_ / networks_;
}

Clock::duration WorkQueue::expected_wait() const {
  std::lock_guard lock(mutex_);
  return expected_wait_locked();
}

Clock::duration WorkQueue::per_job() const {
  std::lock_guard lock(mutex_);
  return per_job_;
}

size_t WorkQueue::depth() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

}  // namespace pomona::serving
