// The per-request receive deadline (receive_deadline.h).
#include "receive_deadline.h"

#include <sys/socket.h>

#include <atomic>
#include <optional>

namespace pomona::serving {
namespace {

using Clock = std::chrono::steady_clock;

struct ThreadState {
  std::optional<Clock::duration> limit;  // set inside a ConnectionScope
  std::optional<Clock::time_point> request_start;
};
thread_local ThreadState state;
std::atomic<int64_t> cut_off{0};

}  // namespace

ConnectionScope::ConnectionScope(Clock::duration limit) { state = {limit, std::nullopt}; }

ConnectionScope::~ConnectionScope() { state = {}; }

void request_answered() { state.request_start.reset(); }

int receive_flags(int socket) {
  if (!state.limit) return 0;
  const auto now = Clock::now();
  if (!state.request_start) {
    state.request_start = now;
  } else if (now - *state.request_start > *state.limit) {
    // Once per request: shut down, recv() then reads end of file, whatever the client sends.
    if (shutdown(socket, SHUT_RDWR) == 0) cut_off.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;
}

int64_t requests_cut_off() { return cut_off.load(std::memory_order_relaxed); }

}  // namespace pomona::serving
