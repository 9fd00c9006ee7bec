#include "work_queue.h"

#include "pomona/condition_wait.h"

namespace pomona::serving {

bool WorkQueue::try_push(std::shared_ptr<Job> job) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || jobs_.size() >= capacity_) return false;
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

std::shared_ptr<Job> WorkQueue::pop() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
  if (jobs_.empty()) return nullptr;
  auto job = std::move(jobs_.front());
  jobs_.pop_front();
  return job;
}

void WorkQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

size_t WorkQueue::depth() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

}  // namespace pomona::serving
