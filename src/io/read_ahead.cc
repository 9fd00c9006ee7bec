// ReadAhead (include/pomona/io.h).
#include "read_ahead.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "pomona/condition_wait.h"

namespace pomona {

struct ReadAhead::State {
  State(const std::vector<ObjectInfo>& inputs, int max_threads, int64_t max_bytes_ahead,
        Reader read, ThrottleCount throttles)
      : inputs(inputs),
        max_bytes_ahead(max_bytes_ahead),
        read(std::move(read)),
        throttles(std::move(throttles)),
        concurrency(kInitialReads, max_threads),
        throttles_seen(this->throttles()) {}

  void read_loop();

  const std::vector<ObjectInfo>& inputs;
  const int64_t max_bytes_ahead;
  const Reader read;
  const ThrottleCount throttles;
  std::mutex mutex;
  std::condition_variable changed;
  internal::ReadConcurrency concurrency;
  int64_t next_to_read = 0;
  int64_t bytes_ahead = 0;
  int in_flight = 0;
  int64_t throttles_seen = 0;
  // Which round of reads this is: a limit halved starts a new one, so that the reads already in
  // flight when the store throttled do not halve it again.
  int64_t round = 0;
  bool cancelled = false;
  std::map<int64_t, Result<std::vector<uint8_t>>> ready;
  // Last: joined first when the state is destroyed.
  std::vector<std::jthread> threads;
};

ReadAhead::ReadAhead(const std::vector<ObjectInfo>& inputs, int max_threads,
                     int64_t max_bytes_ahead, Reader read, ThrottleCount throttles)
    : state_(std::make_unique<State>(inputs, max_threads, max_bytes_ahead, std::move(read),
                                     std::move(throttles))) {
  for (int t = 0; t < max_threads; ++t)
    state_->threads.emplace_back([this] { state_->read_loop(); });
}

ReadAhead::~ReadAhead() {
  cancel();
  state_->threads.clear();
}

void ReadAhead::cancel() {
  std::lock_guard lock(state_->mutex);
  state_->cancelled = true;
  state_->changed.notify_all();
}

int ReadAhead::concurrency() {
  std::lock_guard lock(state_->mutex);
  return state_->concurrency.limit();
}

void ReadAhead::State::read_loop() {
  const int64_t total = static_cast<int64_t>(inputs.size());
  while (true) {
    int64_t index, claimed_round;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] {
        return cancelled || next_to_read >= total ||
               (in_flight < concurrency.limit() &&
                (bytes_ahead == 0 || bytes_ahead + inputs[next_to_read].size <= max_bytes_ahead));
      });
      if (cancelled || next_to_read >= total) return;
      index = next_to_read++;
      bytes_ahead += inputs[index].size;
      ++in_flight;
      claimed_round = round;
    }
    Result<std::vector<uint8_t>> bytes = read(inputs[index]);
    const int64_t throttled = throttles();
    std::lock_guard lock(mutex);
    --in_flight;
    if (throttled > throttles_seen) {
      throttles_seen = throttled;
      if (claimed_round == round) {
        concurrency.throttled();
        ++round;
      }
    }
    ready.emplace(index, std::move(bytes));
    changed.notify_all();
  }
}

Result<std::vector<uint8_t>> ReadAhead::take(int64_t index) {
  State& state = *state_;
  std::unique_lock lock(state.mutex);
  if (!state.ready.contains(index) && state.in_flight >= state.concurrency.limit()) {
    state.concurrency.worker_waited();
    state.changed.notify_all();
  }
  state.changed.wait(lock, [&] { return state.cancelled || state.ready.contains(index); });
  const auto ready = state.ready.find(index);
  if (ready == state.ready.end()) {
    return Result<std::vector<uint8_t>>::failure("not read: the run was stopped");
  }
  Result<std::vector<uint8_t>> bytes = std::move(ready->second);
  state.ready.erase(ready);
  state.bytes_ahead -= state.inputs[index].size;
  state.changed.notify_all();
  return bytes;
}

}  // namespace pomona
