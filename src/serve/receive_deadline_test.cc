#include "receive_deadline.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace pomona::serving {
namespace {

using namespace std::chrono_literals;

struct SocketPair {
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    close(fds[0]);
    close(fds[1]);
  }
  // Whether the server side still reads what the client side sends.
  bool open() {
    char byte = 'x';
    if (send(fds[1], &byte, 1, MSG_NOSIGNAL) != 1) return false;
    return recv(fds[0], &byte, 1, 0) == 1;
  }
  int fds[2];
};

TEST(ReceiveDeadline, ShutsDownARequestThatTricklesPastTheLimit) {
  SocketPair pair;
  const int64_t before = requests_cut_off();
  ConnectionScope scope(50ms);
  EXPECT_EQ(receive_flags(pair.fds[0]), 0);  // the request's first read starts its clock
  ASSERT_TRUE(pair.open());
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(receive_flags(pair.fds[0]), 0);
  EXPECT_FALSE(pair.open());
  EXPECT_EQ(requests_cut_off(), before + 1);
}

TEST(ReceiveDeadline, AnAnswerStartsTheNextRequestsClock) {
  SocketPair pair;
  ConnectionScope scope(50ms);
  receive_flags(pair.fds[0]);
  std::this_thread::sleep_for(80ms);
  request_answered();  // a keep-alive connection: the next request has its own 50 ms
  receive_flags(pair.fds[0]);
  EXPECT_TRUE(pair.open());
  receive_flags(pair.fds[0]);
  EXPECT_TRUE(pair.open());
}

TEST(ReceiveDeadline, AConnectionClosedAfterItsAnswerDiscardsWhatTheClientStillSent) {
  SocketPair pair;
  ConnectionScope scope(10s);
  receive_flags(pair.fds[0]);
  close_after_answer();
  const char rest[] = "Host: x\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n";
  ASSERT_EQ(send(pair.fds[1], rest, sizeof rest, 0), static_cast<ssize_t>(sizeof rest));
  shutdown(pair.fds[1], SHUT_WR);  // the client, answered, closes its side
  EXPECT_EQ(receive_flags(pair.fds[0]), 0);
  char byte;
  EXPECT_EQ(recv(pair.fds[0], &byte, 1, 0), 0);  // end of file: nothing left to parse
  EXPECT_EQ(recv(pair.fds[1], &byte, 1, 0), 0);  // and the client saw the server's end
}

TEST(ReceiveDeadline, ReadsOutsideAConnectionScopeAreNeverCutOff) {
  SocketPair pair;
  {
    ConnectionScope scope(1ms);
    receive_flags(pair.fds[0]);
  }
  std::this_thread::sleep_for(10ms);
  receive_flags(pair.fds[0]);
  EXPECT_TRUE(pair.open());
}

}  // namespace
}  // namespace pomona::serving
