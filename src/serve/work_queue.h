// The bounded queue between the connection threads and the networks, and its admission rule
// (serve.h, "Concurrency"). A request bounds its own wait for a network by design, not by luck:
//  - it is admitted only while the wait it can expect stays within the wait budget (the jobs
//    ahead of it, over the networks, times the workers' recent time per job), and while a place
//    is free;
//  - a worker that takes a job which waited its turn past the budget after all (the work got
//    slower meanwhile) sheds it instead of running it, as CoDel drops at dequeue. A job that
//    found a network free never is: its only wait is the hand-off to the worker thread, which a
//    budget shorter than the scheduler's latency (a tiny network) must not turn into a 503.
// So no request that gets an answer waited longer than the budget. The queue reads no clock:
// callers pass the times, which keeps the rule testable without timing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pomona/classify.h"

namespace pomona::serving {

using Clock = std::chrono::steady_clock;

// One image to classify, shared by the connection thread that waits for it and the worker.
struct Job {
  std::string bytes;
  Clock::time_point queued_at;
  bool queued_behind = false;    // admitted with no network free: it waits its turn
  Clock::time_point started_at;  // when a worker took it to run
  // Set by the worker under `mutex`, then `done` is notified.
  std::mutex mutex;
  std::condition_variable done;
  bool finished = false;
  bool shed = false;       // finished unrun: it waited past the budget (the request gets 503)
  bool abandoned = false;  // the waiting request timed out: a worker skips the job
  ImageAnswer answer;
  std::string index_version;
};

enum class Admission {
  kAdmitted,
  kFull,        // no place left
  kOverBudget,  // the expected wait exceeds the budget
  kClosed,
};

class WorkQueue {
 public:
  // capacity: places for waiting jobs; networks: the workers that pop(); max_wait: the wait
  // budget; per_job: the first estimate of a worker's time per job (then updated by finish()).
  WorkQueue(size_t capacity, int networks, Clock::duration max_wait, Clock::duration per_job);

  // Queues `job` (stamping its queued_at with `now`) when admitted; never blocks. The wait it
  // expected goes to *expected_wait when given.
  Admission try_push(std::shared_ptr<Job> job, Clock::time_point now,
                     Clock::duration* expected_wait = nullptr);
  // Blocks for the next job and counts one worker busy until finish(); nullptr once closed and
  // empty.
  std::shared_ptr<Job> pop();
  // Whether `job`, taken at `now`, waited its turn past the budget: the worker then sheds it.
  bool overdue(const Job& job, Clock::time_point now) const;
  // The worker that popped a job is done with it. worked: how long the job took it, which moves
  // the estimate per job an eighth of the way (exponential average); nullopt when it did not run
  // it (shed or abandoned).
  void finish(std::optional<Clock::duration> worked);
  // Wakes every pop(); pushes fail from now on, queued jobs are still handed out.
  void close();

  // The wait a job pushed now would expect: 0 while a network is free for it, else the jobs that
  // must start before it (queued, and the busy networks beyond the first `networks`) plus
  // itself, over the networks, times the estimate per job.
  Clock::duration expected_wait() const;
  Clock::duration per_job() const;
  Clock::duration max_wait() const { return max_wait_; }
  size_t capacity() const { return capacity_; }
  size_t depth() const;

 private:
  Clock::duration expected_wait_locked() const;

  const size_t capacity_;
  const int networks_;
  const Clock::duration max_wait_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Job>> jobs_;
  int busy_ = 0;
  Clock::duration per_job_;
  bool closed_ = false;
};

}  // namespace pomona::serving
