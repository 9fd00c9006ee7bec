// The bounded queue between the connection threads and the networks (serve.h, "Concurrency").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "pomona/classify.h"

namespace pomona::serving {

// One image to classify, shared by the connection thread that waits for it and the worker.
struct Job {
  std::string bytes;
  // Set by the worker under `mutex`, then `done` is notified.
  std::mutex mutex;
  std::condition_variable done;
  bool finished = false;
  bool abandoned = false;  // the waiting request timed out: a worker skips the job
  ImageAnswer answer;
  std::string index_version;
};

class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }
  // False at once when the queue is full or closed.
  bool try_push(std::shared_ptr<Job> job);
  // Blocks for the next job; nullptr once closed and empty.
  std::shared_ptr<Job> pop();
  // Wakes every pop(); pushes fail from now on, queued jobs are still handed out.
  void close();
  size_t depth() const;

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Job>> jobs_;
  bool closed_ = false;
};

}  // namespace pomona::serving
