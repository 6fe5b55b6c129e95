// The socket options a Listener gives accepted connections, read back with getsockopt on the
// broker's own end of a real loopback connection (found in /proc/self/fd by its addresses).
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "gregor/network/listener.h"

namespace gregor::network {
namespace {
using asio::ip::tcp;

// Answers every frame with its own bytes.
class EchoHandler : public RequestHandler {
 public:
  asio::awaitable<bool> Handle(ConnectionContext&, std::string& frame,
                               protocol::Writer& out) override {
    out.Int32(static_cast<int32_t>(frame.size()));
    out.Raw(frame);
    co_return true;
  }
};

bool SameEndpoint(const sockaddr_in& a, const tcp::endpoint& b) {
  return a.sin_family == AF_INET && ntohs(a.sin_port) == b.port() &&
         ntohl(a.sin_addr.s_addr) == b.address().to_v4().to_uint();
}

// The descriptor of this process whose local address is `local` and peer is `peer`; -1 if none.
int FindSocket(const tcp::endpoint& local, const tcp::endpoint& peer) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in mine{}, theirs{};
    socklen_t len = sizeof(mine);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&mine), &len) != 0) continue;
    len = sizeof(theirs);
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&theirs), &len) != 0)
      continue;
    if (SameEndpoint(mine, local) && SameEndpoint(theirs, peer)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

int IntOption(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof(value);
  EXPECT_EQ(0, getsockopt(fd, level, name, &value, &len)) << std::strerror(errno);
  return value;
}

struct Options {
  int send_buffer = 0;
  int receive_buffer = 0;
  int no_delay = 0;
  int keep_alive = 0;
};

class ListenerSocketOptionsTest : public ::testing::Test {
 protected:
  // Starts a listener with these buffer settings, connects, makes one round trip (so the
  // connection has been accepted and served) and reads the broker side's options.
  Options AcceptedOptions(int32_t send_buffer_bytes, int32_t receive_buffer_bytes) {
    ListenerOptions o;
    o.name = "PLAINTEXT";
    o.security_protocol = "PLAINTEXT";
    o.host = "127.0.0.1";
    o.send_buffer_bytes = send_buffer_bytes;
    o.receive_buffer_bytes = receive_buffer_bytes;
    listener_ = std::make_unique<Listener>(io_, o, &handler_);
    EXPECT_TRUE(listener_->Bind().ok());
    listener_->Start();
    work_.emplace(io_.get_executor());
    threads_.emplace_back([this] { io_.run(); });

    tcp::socket s(client_io_);
    tcp::endpoint server(asio::ip::make_address("127.0.0.1"),
                         static_cast<uint16_t>(listener_->port()));
    s.connect(server);
    const std::string frame("\0\0\0\10pingpong", 12);  // a body of a request header's size
    asio::write(s, asio::buffer(frame));
    std::string reply(frame.size(), '\0');
    asio::read(s, asio::buffer(reply.data(), reply.size()));
    EXPECT_EQ(frame, reply);

    Options got;
    int fd = FindSocket(server, s.local_endpoint());
    EXPECT_GE(fd, 0) << "the listener's end of the connection is not among our descriptors";
    if (fd < 0) return got;
    got.send_buffer = IntOption(fd, SOL_SOCKET, SO_SNDBUF);
    got.receive_buffer = IntOption(fd, SOL_SOCKET, SO_RCVBUF);
    got.no_delay = IntOption(fd, IPPROTO_TCP, TCP_NODELAY);
    got.keep_alive = IntOption(fd, SOL_SOCKET, SO_KEEPALIVE);
    return got;
  }

  // What the kernel gives a loopback connection accepted with no options set.
  static Options PlainAcceptedOptions() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    int fd = server.native_handle();
    Options got;
    got.send_buffer = IntOption(fd, SOL_SOCKET, SO_SNDBUF);
    got.receive_buffer = IntOption(fd, SOL_SOCKET, SO_RCVBUF);
    return got;
  }

  void TearDown() override {
    if (listener_) listener_->Stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  EchoHandler handler_;
  std::unique_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
};

TEST_F(ListenerSocketOptionsTest, BufferSizesApplyToAcceptedSockets) {
  Options got = AcceptedOptions(/*send_buffer_bytes=*/65536, /*receive_buffer_bytes=*/98304);
  // Linux reports twice the value set (socket(7): the doubling covers its bookkeeping).
  EXPECT_EQ(2 * 65536, got.send_buffer);
  EXPECT_EQ(2 * 98304, got.receive_buffer);
  EXPECT_EQ(1, got.no_delay);
  EXPECT_EQ(1, got.keep_alive);
}

TEST_F(ListenerSocketOptionsTest, MinusOneLeavesTheOsDefaults) {
  Options plain = PlainAcceptedOptions();
  Options got = AcceptedOptions(-1, -1);
  EXPECT_EQ(plain.send_buffer, got.send_buffer);
  EXPECT_EQ(plain.receive_buffer, got.receive_buffer);
  EXPECT_EQ(1, got.no_delay);
  EXPECT_EQ(1, got.keep_alive);
}

}  // namespace
}  // namespace gregor::network
