// The per-request receive deadline (receive_deadline.h).
#include "receive_deadline.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <optional>

namespace pomona::serving {
namespace {

using Clock = std::chrono::steady_clock;

struct ThreadState {
  std::optional<Clock::duration> limit;  // set inside a ConnectionScope
  std::optional<Clock::time_point> request_start;
  bool close_pending = false;
};
thread_local ThreadState state;
std::atomic<int64_t> cut_off{0};

// close_after_answer's lingering close of `socket`.
void discard_then_shut_down(int socket) {
  shutdown(socket, SHUT_WR);
  const auto until = Clock::now() + kLinger;
  char sink[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd readable{socket, POLLIN, 0};
    if (left <= 0 || poll(&readable, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = recv(socket, sink, sizeof sink, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
  }
  shutdown(socket, SHUT_RDWR);
}

}  // namespace

ConnectionScope::ConnectionScope(Clock::duration limit) { state = {limit, std::nullopt}; }

ConnectionScope::~ConnectionScope() { state = {}; }

void request_answered() { state.request_start.reset(); }

void close_after_answer() { state.close_pending = true; }

int receive_flags(int socket) {
  if (!state.limit) return 0;
  if (state.close_pending) {
    state.close_pending = false;
    discard_then_shut_down(socket);
    return 0;
  }
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
