#include "replication/blocking_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace gregor::replication {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Errno(int err) { return std::strerror(err); }

}  // namespace

BlockingChannel::BlockingChannel() {
  // Without the eventfd Interrupt() degrades to "at the next timeout"; never fatal.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

BlockingChannel::~BlockingChannel() {
  Close();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void BlockingChannel::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void BlockingChannel::Interrupt() {
  interrupted_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    // The counter only grows; the fd stays readable, which is what we want.
    ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    (void)n;
  }
}

bool BlockingChannel::interrupted() const { return interrupted_.load(); }

Status BlockingChannel::WaitFor(short events, int64_t deadline_ms, const char* what) {
  for (;;) {
    if (interrupted()) return Status::Unavailable("interrupted");
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return Status::Timeout(std::string(what) + " timed out");
    pollfd fds[2];
    fds[0] = {fd_, events, 0};
    fds[1] = {wake_fd_, POLLIN, 0};
    int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("poll: ") + Errno(errno));
    }
    if (n == 0) continue;  // the deadline check above reports the timeout
    if (wake_fd_ >= 0 && (fds[1].revents & POLLIN)) return Status::Unavailable("interrupted");
    if (fds[0].revents != 0) return Status::Ok();  // ready, or an error the next call reports
  }
}

Status BlockingChannel::Connect(const std::string& host, int32_t port, int32_t timeout_ms) {
  Close();
  if (interrupted()) return Status::Unavailable("interrupted");
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return Status::Unavailable("resolve " + host + ": " + ::gai_strerror(rc));
  const int64_t deadline = NowMs() + std::max(1, timeout_ms);
  Status last = Status::Unavailable("connect " + where + ": no address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd_ = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd_ < 0) {
      last = Status::Unavailable("socket: " + Errno(errno));
      continue;
    }
    if (::connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = Status::Unavailable("connect " + where + ": " + Errno(errno));
        Close();
        continue;
      }
      Status st = WaitFor(POLLOUT, deadline, "connect");
      if (!st.ok()) {
        Close();
        ::freeaddrinfo(res);
        return st;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = Status::Unavailable("connect " + where + ": " + Errno(err));
        Close();
        continue;
      }
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::freeaddrinfo(res);
    return Status::Ok();
  }
  ::freeaddrinfo(res);
  return last;
}

Status BlockingChannel::Send(std::string_view frame, int32_t timeout_ms) {
  if (fd_ < 0) return Status::Unavailable("not connected");
  const int64_t deadline = NowMs() + std::max(1, timeout_ms);
  size_t at = 0;
  while (at < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + at, frame.size() - at, MSG_NOSIGNAL);
    if (n > 0) {
      at += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      GREGOR_RETURN_IF_ERROR(WaitFor(POLLOUT, deadline, "send"));
      continue;
    }
    return Status::Unavailable("send: " + Errno(errno));
  }
  return Status::Ok();
}

Status BlockingChannel::ReadFully(uint8_t* p, size_t n, int64_t deadline_ms) {
  size_t at = 0;
  while (at < n) {
    ssize_t r = ::recv(fd_, p + at, n - at, 0);
    if (r > 0) {
      at += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Status::Unavailable("connection closed by peer");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      GREGOR_RETURN_IF_ERROR(WaitFor(POLLIN, deadline_ms, "receive"));
      continue;
    }
    return Status::Unavailable("receive: " + Errno(errno));
  }
  return Status::Ok();
}

Status BlockingChannel::Receive(size_t max_frame_bytes, int32_t timeout_ms, uint8_t** body,
                                size_t* size) {
  if (fd_ < 0) return Status::Unavailable("not connected");
  const int64_t deadline = NowMs() + std::max(1, timeout_ms);
  uint8_t prefix[4];
  GREGOR_RETURN_IF_ERROR(ReadFully(prefix, 4, deadline));
  uint32_t n = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
               (uint32_t(prefix[2]) << 8) | uint32_t(prefix[3]);
  if (n < 4 || n > max_frame_bytes) {
    return Status::Corruption("response frame of " + std::to_string(n) + " bytes");
  }
  if (n > capacity_) {
    // Grows only; uninitialised on purpose (a std::string would zero it on every resize).
    size_t cap = std::max<size_t>(n, capacity_ * 2);
    cap = std::min<size_t>(std::max<size_t>(cap, n), max_frame_bytes);
    buffer_.reset(new uint8_t[cap]);
    capacity_ = cap;
  }
  GREGOR_RETURN_IF_ERROR(ReadFully(buffer_.get(), n, deadline));
  *body = buffer_.get();
  *size = n;
  return Status::Ok();
}

}  // namespace gregor::replication
