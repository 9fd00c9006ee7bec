// The time one HTTP request may take to arrive, bounded (slowloris). cpp-httplib 0.11 times out
// each read only (a client silent for the read timeout is dropped), so a client that trickles one
// byte within each timeout would hold a connection thread for as long as it likes.
//
// server.cc has cpp-httplib call receive_flags(socket) before each recv() of a connection
// (CPPHTTPLIB_RECV_FLAGS). On a thread inside a ConnectionScope, the first call after an answer
// starts the request's clock; a call past the limit shuts the socket down, so that recv() reads
// end of file and cpp-httplib closes the connection. A request that trickles in is therefore cut
// off within limit + one read timeout, whether it trickles its headers or its body.
#pragma once

#include <chrono>
#include <cstdint>

namespace pomona::serving {

// For one connection, on the thread that serves it: requests on it may take `limit` each to
// arrive (from their first byte read until an answer). Not nestable.
class ConnectionScope {
 public:
  explicit ConnectionScope(std::chrono::steady_clock::duration limit);
  ~ConnectionScope();
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;
};

// The request on this thread's connection was answered: the next read starts the next one's clock.
void request_answered();

// The connection on this thread must close once this answer is sent, and what the client sent
// after it is no request (cpp-httplib stopped reading an unknown method's request at its request
// line: its headers and body are still unread). The next receive_flags() ends the answer (FIN),
// discards what arrives until the client closes or kLinger passes, then shuts the socket down:
// recv() reads end of file and cpp-httplib closes the connection. Closing at once with bytes
// unread would send a reset, which can destroy the answer before the client reads it.
void close_after_answer();
constexpr std::chrono::milliseconds kLinger{1000};

// cpp-httplib's hook before each recv() on `socket`: enforces the limit above (a no-op outside a
// ConnectionScope) and returns the recv() flags, 0.
int receive_flags(int socket);

// Requests cut off so far, in this process.
int64_t requests_cut_off();

}  // namespace pomona::serving
